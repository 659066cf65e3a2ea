using System.Buffers;
using System.Globalization;
using System.Text;
using ErrorHub.Protocol.MessagePack;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// A MessagePack value as a tree, for round trips and cross-checks. <see cref="ToString"/> gives a
/// canonical text that two values share exactly when they are the same MessagePack value (floats by
/// their bits, with every NaN treated as one value), so assertions compare text and show readable diffs.
/// </summary>
internal abstract record MpValue
{
    public static readonly MpValue Nil = new MpNil();

    public static MpValue Int(Int128 value) => new MpInt(value);

    public static MpValue Str(string value) => new MpStr(value);

    public static MpValue Float64(double value) => new MpFloat(value, IsSingle: false);

    public static MpValue Float32(float value) => new MpFloat(value, IsSingle: true);

    public static MpValue Bin(params byte[] value) => new MpBin(value);

    public static MpValue Array(params MpValue[] items) => new MpArray(items);

    public static MpValue Map(params (MpValue Key, MpValue Value)[] entries) =>
        new MpMap(entries.Select(e => KeyValuePair.Create(e.Key, e.Value)).ToArray());

    public static MpValue Bool(bool value) => new MpBool(value);

    public static MpValue Ext(sbyte type, params byte[] data) => new MpExt(type, data);

    public static MpValue Timestamp(DateTimeOffset value) => new MpTimestamp(value);

    public sealed override string ToString()
    {
        var builder = new StringBuilder();
        MpCanonical.Append(builder, this);
        return builder.ToString();
    }
}

internal sealed record MpNil : MpValue;

internal sealed record MpBool(bool Value) : MpValue;

/// <summary>Any MessagePack integer: <see cref="Int128"/> holds both long.MinValue and ulong.MaxValue.</summary>
internal sealed record MpInt(Int128 Value) : MpValue;

internal sealed record MpFloat(double Value, bool IsSingle) : MpValue;

internal sealed record MpStr(string Value) : MpValue;

internal sealed record MpBin(byte[] Value) : MpValue;

internal sealed record MpArray(IReadOnlyList<MpValue> Items) : MpValue;

internal sealed record MpMap(IReadOnlyList<KeyValuePair<MpValue, MpValue>> Entries) : MpValue;

internal sealed record MpExt(sbyte Type, byte[] Data) : MpValue;

internal sealed record MpTimestamp(DateTimeOffset Value) : MpValue;

internal static class MpCanonical
{
    public static void Append(StringBuilder builder, MpValue value)
    {
        switch (value)
        {
            case MpNil:
                builder.Append("nil");
                break;
            case MpBool b:
                builder.Append(b.Value ? "true" : "false");
                break;
            case MpInt i:
                builder.Append("int:").Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case MpFloat { IsSingle: true } f:
                builder.Append(float.IsNaN((float)f.Value)
                    ? "f32:NaN"
                    : Invariant($"f32:{BitConverter.SingleToUInt32Bits((float)f.Value):x8}({(float)f.Value:R})"));
                break;
            case MpFloat f:
                builder.Append(Float64(f.Value));
                break;
            case MpStr s:
                AppendQuoted(builder, s.Value);
                break;
            case MpBin b:
                builder.Append("bin:").Append(Convert.ToHexStringLower(b.Value));
                break;
            case MpArray a:
                builder.Append('[');
                for (var index = 0; index < a.Items.Count; index++)
                {
                    builder.Append(index == 0 ? string.Empty : ", ");
                    Append(builder, a.Items[index]);
                }

                builder.Append(']');
                break;
            case MpMap m:
                builder.Append('{');
                for (var index = 0; index < m.Entries.Count; index++)
                {
                    builder.Append(index == 0 ? string.Empty : ", ");
                    Append(builder, m.Entries[index].Key);
                    builder.Append(": ");
                    Append(builder, m.Entries[index].Value);
                }

                builder.Append('}');
                break;
            case MpExt e:
                builder.Append(Invariant($"ext({e.Type}):")).Append(Convert.ToHexStringLower(e.Data));
                break;
            case MpTimestamp t:
                builder.Append("ts:").Append(t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(value), value.GetType().Name, "unknown value kind");
        }
    }

    public static string Float64(double value) =>
        double.IsNaN(value) ? "f64:NaN" : Invariant($"f64:{BitConverter.DoubleToUInt64Bits(value):x16}({value:R})");

    /// <summary>Quotes a string with every character outside printable ASCII escaped, lone surrogates included.</summary>
    public static void AppendQuoted(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            if (c is >= ' ' and <= '~' and not '"' and not '\\')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(Invariant($"\\u{(int)c:x4}"));
            }
        }

        builder.Append('"');
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Writes <see cref="MpValue"/> trees with <see cref="MessagePackWriter"/> and reads them back with <see cref="MessagePackReader"/>.</summary>
internal static class MpCodec
{
    public static byte[] Encode(MpValue value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, value);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(ref MessagePackWriter writer, MpValue value)
    {
        switch (value)
        {
            case MpNil:
                writer.WriteNil();
                break;
            case MpBool b:
                writer.Write(b.Value);
                break;
            case MpInt i when i.Value >= 0:
                writer.Write((ulong)i.Value);
                break;
            case MpInt i:
                writer.Write((long)i.Value);
                break;
            case MpFloat { IsSingle: true } f:
                writer.Write((float)f.Value);
                break;
            case MpFloat f:
                writer.Write(f.Value);
                break;
            case MpStr s:
                writer.Write(s.Value);
                break;
            case MpBin b:
                writer.WriteBinary(b.Value);
                break;
            case MpArray a:
                writer.WriteArrayHeader(a.Items.Count);
                foreach (var item in a.Items)
                {
                    Write(ref writer, item);
                }

                break;
            case MpMap m:
                writer.WriteMapHeader(m.Entries.Count);
                foreach (var entry in m.Entries)
                {
                    Write(ref writer, entry.Key);
                    Write(ref writer, entry.Value);
                }

                break;
            case MpExt e:
                writer.WriteExtension(e.Type, e.Data);
                break;
            case MpTimestamp t:
                writer.WriteTimestamp(t.Value);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(value), value.GetType().Name, "unknown value kind");
        }
    }

    /// <summary>Decodes exactly one value that must span all of <paramref name="data"/>.</summary>
    public static MpValue Decode(ReadOnlySpan<byte> data, MessagePackReaderLimits? limits = null)
    {
        var reader = new MessagePackReader(data, limits);
        var value = Read(ref reader, data);
        if (!reader.End)
        {
            throw new InvalidOperationException($"{data.Length - reader.Position} bytes left after the value");
        }

        return value;
    }

    /// <summary>
    /// Reads one value through the reader's public API. <paramref name="data"/> is the reader's input: the
    /// format byte tells uint64 from the other integers and float32 from float64, which the API folds together.
    /// </summary>
    public static MpValue Read(ref MessagePackReader reader, ReadOnlySpan<byte> data)
    {
        switch (reader.PeekType())
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return MpValue.Nil;
            case MessagePackType.Boolean:
                return new MpBool(reader.ReadBoolean());
            case MessagePackType.Integer:
                return data[reader.Position] == MessagePackCode.UInt64
                    ? new MpInt(reader.ReadUInt64())
                    : new MpInt(reader.ReadInt64());
            case MessagePackType.Float:
                return data[reader.Position] == MessagePackCode.Float32
                    ? new MpFloat((float)reader.ReadDouble(), IsSingle: true)
                    : new MpFloat(reader.ReadDouble(), IsSingle: false);
            case MessagePackType.String:
                return new MpStr(reader.ReadString());
            case MessagePackType.Binary:
                return new MpBin(reader.ReadBinary().ToArray());
            case MessagePackType.Array:
            {
                var count = reader.ReadArrayHeader();
                var items = new List<MpValue>();
                for (var index = 0; index < count; index++)
                {
                    items.Add(Read(ref reader, data));
                }

                return new MpArray(items);
            }

            case MessagePackType.Map:
            {
                var count = reader.ReadMapHeader();
                var entries = new List<KeyValuePair<MpValue, MpValue>>();
                for (var index = 0; index < count; index++)
                {
                    var key = Read(ref reader, data);
                    var value = Read(ref reader, data);
                    entries.Add(KeyValuePair.Create(key, value));
                }

                return new MpMap(entries);
            }

            case MessagePackType.Extension:
            {
                var peek = reader; // a copy: reading from it leaves the real reader where it is
                peek.ReadExtension(out var type);
                if (type == MessagePackCode.TimestampExtensionType)
                {
                    return new MpTimestamp(reader.ReadTimestamp());
                }

                var extension = reader.ReadExtension(out type);
                return new MpExt(type, extension.ToArray());
            }

            default:
                throw new InvalidOperationException("unknown MessagePackType");
        }
    }
}
