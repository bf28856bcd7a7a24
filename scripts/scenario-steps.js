// The snapshots a scenario takes, the same for every scenario script (onnx-scenario.js,
// tfjs-scenario.js):
//   trio:   WARMUP units of work, baseline, (GROW), 2 × WARMUP more, target, final
//   series: WARMUP units of work, then step1 … step5 with WARMUP more before each
// `work` has run(n) (n units: requests, training steps), grow() (the --grow-once batch) and
// finish() (a line for the log); `snap(name)` writes OUT_DIR/name.heapsnapshot.
'use strict';

async function takeSnapshots({ shape, warmup, grow }, work, snap) {
  await work.run(warmup);
  if (shape === 'trio') {
    await snap('baseline');
    if (grow) await work.grow();
    await work.run(2 * warmup);
    await snap('target');
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
