import { Client } from "../api.js";

// Ctx is what every view gets: the signed-in client and a way to move to another view.
export interface Ctx {
  client: Client;
  main: HTMLElement;
  navigate(hash: string): void;
  // supports caches Client.supports, so optional actions (backups, rotation) show only where the
  // endpoint serves them.
  supports(action: string): Promise<boolean>;
}
