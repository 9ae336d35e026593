/**
 * Shapes of data product descriptors as this service reads them (see the platform contract's descriptor format).
 * Unknown fields are tolerated everywhere: these types name only what we use.
 */

export type DescriptorKind = 'DATAPRODUCT_DESCRIPTOR' | 'COMPONENT_DESCRIPTOR' | 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS'

export interface Component {
  id: string
  name?: string
  kind: string
  version?: string
  useCaseTemplateId?: string
  infrastructureTemplateId?: string
  dependsOn?: string[]
  specific?: Record<string, unknown>
  info?: { publicInfo?: Record<string, unknown>, privateInfo?: Record<string, unknown> }
  [key: string]: unknown
}

export interface DataProduct {
  id: string
  name?: string
  domain?: string
  version?: string
  environment?: string
  dataProductOwner?: string
  devGroup?: string
  ownerGroup?: string
  components: Component[]
  [key: string]: unknown
}

/** One component this adapter will act on, with the handler that owns it. */
export interface ComponentTarget {
  component: Component
  /** Id of the handler module that claimed the component (src/provisioner/handler-modules.ts). */
  handlerId: string
}

/**
 * A request whose descriptor parsed and validated: what the queue needs to run it.
 * `targets` are in dependency order; `levels` groups target ids that may run in parallel.
 */
export interface ValidatedDescriptor {
  descriptorKind: 'DATAPRODUCT_DESCRIPTOR' | 'COMPONENT_DESCRIPTOR'
  dataProduct: DataProduct
  targets: ComponentTarget[]
  /** Target component ids grouped by dependency depth: level n depends only on levels < n. */
  levels: string[][]
  /** Components of the data product no handler claims (owned by other adapters); logged, then skipped. */
  skipped: Array<{ id: string, useCaseTemplateId?: string }>
  /** Non-fatal remarks (legacy fields ignored, defaults applied) to show in the task log. */
  warnings: string[]
}
