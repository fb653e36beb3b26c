/**
 * What an attention viewer page sends the host to save: text as it is, bytes (a PNG) as base64, since the notebook
 * renderer's messages are JSON.
 */
import type { ExportContent } from '../../src/shared/outputProtocol';

/**
 * Bytes → standard base64, in pieces (a PNG of a large grid is megabytes: one `String.fromCharCode(...bytes)` call
 * would overflow the argument limit).
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const PIECE = 0x8000;
  let binary = '';
  for (let start = 0; start < bytes.length; start += PIECE) {
    binary += String.fromCharCode(...bytes.subarray(start, start + PIECE));
  }
  return btoa(binary);
}

export function exportContent(content: string | ArrayBuffer): ExportContent {
  return typeof content === 'string'
    ? { encoding: 'text', text: content }
    : { encoding: 'base64', base64: bytesToBase64(new Uint8Array(content)) };
}
