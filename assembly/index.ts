// deno-fmt-ignore-file -- AssemblyScript: deno fmt would drop the @inline decorators.
// Entry point of the kernels module: re-exports every kernel (see each file for its contract).
// Memory layout: static data (including the matmul packing scratch) first, then the caller's heap
// from heap_start() on. The module imports nothing.
export * from "./matmul";
export * from "./relu";
export * from "./update";
export * from "./stats";
export * from "./peak";
export * from "./loss";
export * from "./adam";
