/**
 * The slice of the DOM the status page uses, typed here rather than through TypeScript's
 * "dom" library: the page compiles with the gateway, and that library would retype Node's
 * globals (fetch's bodies, timers) for all of the gateway's code.
 */
export interface PageElement {
  id: string;
  className: string;
  textContent: string | null;
  hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  replaceChildren(...nodes: (PageElement | string)[]): void;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
}

export interface InputElement extends PageElement {
  value: string;
  readonly files: ArrayLike<File> | null;
}

export interface ButtonElement extends PageElement {
  disabled: boolean;
}

export interface ProgressElement extends PageElement {
  max: number;
  value: number;
}

export interface LinkElement extends PageElement {
  href: string;
}

interface PageGlobals {
  document: {
    readonly body: PageElement;
    getElementById(id: string): PageElement | null;
    createElement(tag: "a"): LinkElement;
    createElement(tag: string): PageElement;
    createElementNS(namespace: string, tag: string): PageElement;
  };
  sessionStorage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  location: { readonly href: string };
}

export const { document, sessionStorage, location } = globalThis as unknown as PageGlobals;

/** The element with this id; the page's HTML has them all, so a missing one is a bug. */
export function byId<T extends PageElement = PageElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return element as T;
}
