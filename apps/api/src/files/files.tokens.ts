/** Injection token of the FileStore new uploads go to (FILES_DIR, or Postgres). */
export const FILE_STORE = Symbol('FILE_STORE');
