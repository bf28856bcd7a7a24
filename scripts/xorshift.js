// A deterministic random-number source for the synthetic-file scripts: xorshift32, exact in
// JavaScript's 32-bit integer operations. `xorshift(seed)` returns `rand(n)`: 0 ≤ value < n.
"use strict";
module.exports = function xorshift(seed) {
  return (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
};
