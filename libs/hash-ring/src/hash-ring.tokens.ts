/** Injection token of the `HashRing` that `HashRingModule` provides (the class itself is a token too). */
export const HASH_RING = Symbol('sofareg.HashRing');
/** Injection token of the module's `HashRingModuleOptions`. */
export const HASH_RING_OPTIONS = Symbol('sofareg.HashRingOptions');
