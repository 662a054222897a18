import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../../src/core/base64url.js';

describe('base64url', () => {
  it.each([
    { name: 'empty', bytes: [], text: '' },
    { name: 'one byte, no padding', bytes: [0xff], text: '_w' },
    { name: 'two bytes', bytes: [0xfb, 0xef], text: '--8' },
    { name: 'three bytes', bytes: [0x00, 0x10, 0x83], text: 'ABCD' },
  ])('$name: $text', ({ bytes, text }) => {
    expect(encodeBase64Url(Uint8Array.from(bytes))).toBe(text);
    expect(decodeBase64Url(text)).toEqual(Uint8Array.from(bytes));
  });

  it.each(['a+b/', 'abc=', 'a', 'a b'])('rejects %j', (text) => {
    expect(decodeBase64Url(text)).toBeUndefined();
  });
});
