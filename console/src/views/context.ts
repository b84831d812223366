import { Client } from "../api.js";

// Ctx is what every view gets: the signed-in client and a way to move to another view.
export interface Ctx {
  client: Client;
  main: HTMLElement;
  navigate(hash: string): void;
  // supports tells whether this key may call action somewhere (Client.allowed, asked once at
  // sign-in for every action the console offers), so nothing is offered that would be refused.
  supports(action: string): Promise<boolean>;
}
