// k6/data SharedArray: its function runs once in the test, not once per VU, and every VU reads that
// one result by index, `length` and for-of; it is read-only, an element read is a copy, and it can
// only be made in the init context
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-data/sharedarray/
// doc: https://grafana.com/docs/k6/latest/examples/data-parameterization/
// expect exit: 0
// expect check: "every VU sees the one result of the function" passes 6 fails 0
// expect check: "length, index access and for-of" passes 6 fails 0
// expect check: "read-only, elements are copies" passes 6 fails 0
// expect check: "made in the init context only" passes 6 fails 0
import { SharedArray } from 'k6/data';
import { check } from 'k6';

const users = new SharedArray('users', function () {
  return JSON.parse(open('./data/users.json'));
});
// Different on every run of the function: equal in every VU only if it ran once.
const token = new SharedArray('token', () => [{ value: Math.random() }]);

export const options = { scenarios: { each: { executor: 'per-vu-iterations', vus: 3, iterations: 2 } } };

export function setup() {
  return { token: token[0].value };
}

export default function (data) {
  check(token, { 'every VU sees the one result of the function': (t) => t[0].value === data.token });
  check(users, {
    'length, index access and for-of': (u) => {
      const names = [];
      for (const x of u) names.push(x.username);
      return u.length === 3 && u[1].password === 'pass2' && u[3] === undefined && names.join() === 'user1,user2,user3';
    },
  });
  check(users, {
    'read-only, elements are copies': (u) => {
      let refused = false;
      try { u[0] = { username: 'mallory' }; } catch (e) { refused = true; }
      const copy = u[0];
      try { copy.username = 'changed'; } catch (e) { /* frozen */ }
      return refused && u[0].username === 'user1' && u[0] !== u[0];
    },
  });
  check(null, {
    'made in the init context only': () => {
      try { new SharedArray('late', () => []); return false; } catch (e) { return String(e).includes('init context'); }
    },
  });
}
