/** The part of dynalite 4's API the local stack uses (the package ships no types). */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface Options {
    /** Milliseconds a CreateTable stays CREATING (0: ACTIVE at once). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** A LevelDB directory; in memory without. */
    path?: string;
  }

  export default function dynalite(options?: Options): Server;
}
