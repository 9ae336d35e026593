// The few `semver` functions the CI scripts use (the package ships no types and @types/semver is not installed).
declare module 'semver' {
  interface Options { includePrerelease?: boolean, loose?: boolean }
  export function subset (sub: string, dom: string, options?: Options): boolean
  export function satisfies (version: string, range: string, options?: Options): boolean
  export function validRange (range: string, options?: Options): string | null
}
