// The snapshots a scenario takes, the same for every scenario script (onnx-scenario.js,
// tfjs-scenario.js):
//   trio:   WARMUP units of work, baseline, (GROW), 2 × WARMUP more, target, (REVERT more),
//           final
//   series: WARMUP units of work, then step1 … step5 with WARMUP more before each
// `work` has run(n) (n units: requests, training steps), grow() (the --grow-once batch) and
// finish() (a line for the log); `snap(name)` writes OUT_DIR/name.heapsnapshot. REVERT (default
// none) is memlab's "back" action, for a UI: the units of work that replace what the target
// shows, so that the page's current state at the target is not still current at the final.
'use strict';

async function takeSnapshots({ shape, warmup, grow, revert = 0 }, work, snap) {
  await work.run(warmup);
  if (shape === 'trio') {
    await snap('baseline');
    if (grow) await work.grow();
    await work.run(2 * warmup);
    await snap('target');
    if (revert) await work.run(revert);
    await snap('final');
  } else {
    for (let s = 1; s <= 5; s++) {
      await work.run(warmup);
      await snap(`step${s}`);
    }
  }
  process.stdout.write(`${await work.finish()}\n`);
}

module.exports = { takeSnapshots };
