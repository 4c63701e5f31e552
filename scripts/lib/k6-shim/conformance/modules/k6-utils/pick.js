// A module the stand-in imports relatively, as remote modules import their siblings.
export function pick(list, r) {
  return list[Math.floor(r * list.length)];
}
