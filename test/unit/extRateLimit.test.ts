/**
 * Deny notifications are rate-limited, never a flood; what is held back is counted, not lost.
 */
import * as assert from 'node:assert/strict';
import { NotificationLimiter } from '../../src/extension/model/rateLimit';

describe('extension: notification rate limit', () => {
  it('at most `burst` per window; the rest are held and counted, the newest shown when a slot frees', () => {
    const l = new NotificationLimiter<string>(2, 10_000);
    assert.deepEqual(l.offer('a', 0), { item: 'a', suppressed: 0 });
    assert.deepEqual(l.offer('b', 100), { item: 'b', suppressed: 0 });
    for (let i = 0; i < 50; i++) assert.equal(l.offer(`x${i}`, 200 + i), undefined);
    assert.equal(l.pending, 50);
    assert.equal(l.flush(5_000), undefined, 'no slot yet');
    assert.equal(l.nextSlotIn(5_000), 5_000);
    assert.deepEqual(l.flush(10_000), { item: 'x49', suppressed: 49 });
    assert.equal(l.pending, 0);
    assert.equal(l.flush(10_001), undefined);
  });

  it('a notification after held ones says how many were held', () => {
    const l = new NotificationLimiter<string>(1, 1000);
    l.offer('a', 0);
    l.offer('b', 10);
    l.offer('c', 20);
    assert.deepEqual(l.offer('d', 1500), { item: 'd', suppressed: 2 });
  });
});
