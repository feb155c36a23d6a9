export { DllmTokenizer, type SpecialTokenIds } from './tokenizer';
export { encodeWtf8, decodeWtf8, hasLoneSurrogate } from './wtf8';
