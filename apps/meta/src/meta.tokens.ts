/** The {@link MetaStore} this node runs on. */
export const META_STORE = Symbol('sofareg.meta.store');
