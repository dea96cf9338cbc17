import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPartitionPipeline } from '../../../src/adapters/kafka/pipeline.js';

/** A promise with its resolve, to hold a piece of work until the test lets it go. */
function gate(): { readonly open: () => void; readonly passed: Promise<void> } {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => { open = resolve; });
  return { open, passed };
}

describe('createPartitionPipeline', () => {
  it('works through each partition in the order handed over, partitions side by side', async () => {
    const done: string[] = [];
    const p = createPartitionPipeline<string>({ depth: 10, work: async (partition, item) => { await Promise.resolve(); done.push(`${partition}:${item}`); } });
    for (const item of ['a', 'b', 'c']) { await p.push(0, item); await p.push(1, item.toUpperCase()); }
    await p.close();
    assert.deepEqual(done.filter((d) => d.startsWith('0:')), ['0:a', '0:b', '0:c']);
    assert.deepEqual(done.filter((d) => d.startsWith('1:')), ['1:A', '1:B', '1:C']);
  });

  it('a push waits while its partition has depth items waiting, and runs the wait callback meanwhile', async () => {
    const hold = gate();
    const started: string[] = [];
    const p = createPartitionPipeline<string>({ depth: 1, waitTickMs: 5, work: async (_partition, item) => { started.push(item); if (item === 'first') await hold.passed; } });
    await p.push(0, 'first');            // being worked on
    await p.push(0, 'second');           // waits: the lane is now full
    let ticks = 0;
    let third = false;
    const pushed = p.push(0, 'third', async () => { ticks += 1; }).then(() => { third = true; });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(third, false, 'no room while first runs and second waits');
    assert.ok(ticks >= 1, 'the wait callback ran (the consumer heartbeats meanwhile)');
    await p.push(1, 'other partition');   // another partition is not held up
    hold.open();
    await pushed;
    await p.close();
    assert.deepEqual(started.filter((s) => s !== 'other partition'), ['first', 'second', 'third']);
  });

  it('a failure closes the pipeline with its error and drops what was waiting', async () => {
    const hold = gate();
    const worked: string[] = [];
    const boom = new Error('batch refused');
    const p = createPartitionPipeline<string>({
      depth: 5,
      work: async (_partition, item) => { worked.push(item); if (item === 'bad') { await hold.passed; throw boom; } },
    });
    await p.push(0, 'bad');
    await p.push(0, 'after-1');
    await p.push(0, 'after-2');
    hold.open();
    assert.equal(await p.closed, boom);
    await p.push(0, 'late');             // dropped at once
    await p.close();
    assert.deepEqual(worked, ['bad'], 'nothing after the failed item was worked on');
  });

  it('close waits for the item being worked on, releases waiting pushes, and resolves closed without an error', async () => {
    const hold = gate();
    let finished = false;
    const p = createPartitionPipeline<string>({ depth: 1, work: async () => { await hold.passed; finished = true; } });
    await p.push(0, 'running');
    await p.push(0, 'waiting');
    const blocked = p.push(0, 'blocked');
    const closing = p.close();
    await blocked;                        // released by close, and dropped
    hold.open();
    await closing;
    assert.equal(finished, true);
    assert.equal(await p.closed, undefined);
  });
});
