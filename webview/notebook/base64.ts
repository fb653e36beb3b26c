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
