/** The job file the write floor (bench/floor/main.go) reads. */
import { writeFile } from "node:fs/promises";

export interface FloorParent {
  name: string;
  uid: string;
  generation: number;
  value: string;
  tier?: string | undefined;
}

export interface FloorJob {
  server: string;
  ca: string;
  cert: string;
  key: string;
  concurrency: number;
  http1?: boolean;
  namespace: string;
  /** `create`: create the children and write the status; `update`: update them. */
  mode: "create" | "update";
  parents: FloorParent[];
}

/** Writes the job where only this user can read it (it holds the admin credentials). */
export async function writeFloorJob(path: string, job: FloorJob): Promise<void> {
  await writeFile(path, JSON.stringify(job), { mode: 0o600 });
}
