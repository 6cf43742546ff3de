// A small layer over onnx-proto for writing ONNX graphs by hand: named initialisers, nodes with attributes,
// typed inputs and outputs, and the serialised model.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

export const ONNX_OPSET = 17;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export type AttributeValue = number | number[] | string;

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh intermediate tensor name. */
  temp(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, dims));
    return name;
  }

  /** A float32 constant (weights). */
  floats(name: string, data: Float32Array | number[], dims: number[]): string {
    const values = Float32Array.from(data);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer) });
    return name;
  }

  /** An int64 constant (shapes, axes, slice bounds). */
  ints(name: string, data: number[]): string {
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(values.buffer) });
    return name;
  }

  /** Adds a node; returns its (first) output name. */
  node(opType: string, inputs: string[], output: string | string[], attributes: Record<string, AttributeValue> = {}): string {
    const outs = Array.isArray(output) ? output : [output];
    this.nodes.push({
      opType,
      name: `${opType}_${this.counter++}`,
      input: inputs,
      output: outs,
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return outs[0]!;
  }

  toBytes(producer: string, docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      docString,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttributeValue): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}
