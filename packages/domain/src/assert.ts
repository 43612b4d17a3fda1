// Exhaustiveness check for every `switch` over a union: adding a member without handling it fails to compile.

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
