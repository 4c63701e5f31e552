// A stand-in for a remote module (https://jslib.k6.io/k6-utils/1.4.0/index.js), written here: the
// conformance scripts map that URL to this file and check that its functions are the ones called.
import { pick } from './pick.js';

export function randomIntBetween(min, max) {
  return Math.floor(Math.random() * (max - min + 1) + min);
}

export function randomItem(list) {
  return pick(list, Math.random());
}

export const LOCAL_COPY = true;
