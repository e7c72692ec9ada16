/** The Dawn flags the Node backend creates its instance with (src/backend/webgpu/node.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dawnFlags, SPEED_TOGGLES } from '../src/backend/webgpu/node.js';

const speed = `enable-dawn-features=${SPEED_TOGGLES.join(',')}`;

test('dawnFlags: the speed toggles by default, added to the caller’s enable list, none with LOWBIT_ROBUST=1', () => {
  assert.deepEqual(dawnFlags({}), [speed]);
  assert.deepEqual(dawnFlags({ LOWBIT_DAWN_FLAGS: 'disable-dawn-features=timestamp_quantization' }), ['disable-dawn-features=timestamp_quantization', speed]);
  assert.deepEqual(dawnFlags({ LOWBIT_DAWN_FLAGS: ' enable-dawn-features=dump_shaders,disable_robustness  backend=vulkan ' }), [
    `enable-dawn-features=dump_shaders,${SPEED_TOGGLES.join(',')}`,
    'backend=vulkan',
  ]);
  assert.deepEqual(dawnFlags({ LOWBIT_ROBUST: '1' }), []);
  assert.deepEqual(dawnFlags({ LOWBIT_ROBUST: '1', LOWBIT_DAWN_FLAGS: 'enable-dawn-features=dump_shaders' }), ['enable-dawn-features=dump_shaders']);
  assert.ok(SPEED_TOGGLES.includes('disable_robustness'));
});
