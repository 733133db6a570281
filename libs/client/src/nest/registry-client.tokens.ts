/** Injection token of the {@link RegistryClient} that `RegistryClientModule` provides. */
export const REGISTRY_CLIENT = Symbol('sofareg.RegistryClient');
