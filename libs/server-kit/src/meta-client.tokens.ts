/** The {@link MetaClient} a {@link MetaClientModule} provides. */
export const META_CLIENT = Symbol('sofareg.meta-client');
