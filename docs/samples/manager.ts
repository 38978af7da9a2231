import { Manager } from "kube-operon";
import greeter from "./greeting.ts";
import team from "./related.ts";

// Several operators in one process share one client and one cache per watched type.
const manager = new Manager({ gracefulShutdownMs: 30_000 });
manager.add(greeter, team);
export const running = process.env.RUN_EXAMPLE ? manager.run() : undefined;
