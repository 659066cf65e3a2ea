using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Text;
using MessagePack;

namespace ErrorHub.Testing.Batches;

/// <summary>
/// The tests' one model of MessagePack values: plain objects (null, bool, int, long, ulong, float, double, string,
/// byte[], DateTimeOffset for the timestamp extension) plus <see cref="WireMap"/> (keeps wire order), arrays,
/// <see cref="Extension"/> and <see cref="RawBytes"/> (written as they are: headers that lie, invalid UTF-8,
/// reserved codes). <see cref="Encode"/> writes a tree with MessagePack-CSharp, <see cref="Read"/> reads one back
/// (trusted input only: it is for reading what the SDK wrote), <see cref="Describe"/> gives a canonical text two
/// trees share exactly when they hold the same values, for assertions with readable differences.
/// </summary>
public static class Wire
{
    public static WireMap Map(params (object Key, object? Value)[] entries) => new(entries);

    public static object?[] Array(params object?[] items) => items;

    /// <summary>Bytes written as they are.</summary>
    public static RawBytes Raw(params byte[] bytes) => new(bytes);

    /// <summary>Bytes written as they are, given as hex such as <c>"cd 01 00"</c> (spaces are ignored).</summary>
    public static RawBytes RawHex(string hex) => new(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));

    public static Extension Ext(sbyte type, params byte[] data) => new(type, data);

    /// <summary>A string made of raw bytes (fixstr/str8/str16 header + the bytes, not checked for UTF-8).</summary>
    public static RawBytes Utf8Bytes(byte[] bytes)
    {
        var header = bytes.Length switch
        {
            <= 31 => new[] { (byte)(0xa0 | bytes.Length) },
            <= 255 => [0xd9, (byte)bytes.Length],
            _ => [0xda, (byte)(bytes.Length >> 8), (byte)bytes.Length],
        };
        return new RawBytes([.. header, .. bytes]);
    }

    /// <summary><paramref name="depth"/> arrays of one element each around the integer 1.</summary>
    public static object? NestedArrays(int depth) => NestedArrays(depth, 1);

    /// <summary><paramref name="depth"/> arrays of one element each around <paramref name="innermost"/>.</summary>
    public static object? NestedArrays(int depth, object? innermost)
    {
        var value = innermost;
        for (var i = 0; i < depth; i++)
        {
            value = Array(value);
        }

        return value;
    }

    public static byte[] Encode(object? value)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        Write(ref writer, value);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads exactly one value spanning all of <paramref name="bytes"/>.</summary>
    public static object? Read(ReadOnlyMemory<byte> bytes)
    {
        var reader = new MessagePackReader(bytes);
        var value = Read(ref reader);
        if (!reader.End)
        {
            throw new InvalidOperationException($"{bytes.Length - reader.Consumed} bytes left after the value");
        }

        return value;
    }

    public static WireMap AsMap(this object? value) => (WireMap)value!;

    public static IReadOnlyList<object?> AsList(this object? value) => (IReadOnlyList<object?>)value!;

    /// <summary>
    /// Canonical text of a tree: integers of every CLR type as one kind, floats by their bits (every NaN alike),
    /// characters outside printable ASCII escaped (lone surrogates included), timestamps to the tick in UTC.
    /// </summary>
    public static string Describe(object? value)
    {
        var builder = new StringBuilder();
        Append(builder, value);
        return builder.ToString();
    }

    private static void Write(ref MessagePackWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNil(); break;
            case bool b: writer.Write(b); break;
            case int i: writer.Write(i); break;
            case long l: writer.Write(l); break;
            case ulong u: writer.Write(u); break;
            case float f: writer.Write(f); break;
            case double d: writer.Write(d); break;
            case string s: writer.Write(s); break;
            case byte[] bytes: writer.Write(bytes); break;
            case DateTimeOffset time: writer.Write(time.UtcDateTime); break;
            case Extension ext:
                writer.WriteExtensionFormatHeader(new ExtensionHeader(ext.Type, (uint)ext.Data.Length));
                writer.WriteRaw(ext.Data);
                break;
            case RawBytes raw: writer.WriteRaw(raw.Bytes); break;
            case WireMap map:
                writer.WriteMapHeader(map.Entries.Count);
                foreach (var (key, entry) in map.Entries)
                {
                    Write(ref writer, key);
                    Write(ref writer, entry);
                }

                break;
            case IEnumerable items:
                var list = items.Cast<object?>().ToList();
                writer.WriteArrayHeader(list.Count);
                foreach (var item in list)
                {
                    Write(ref writer, item);
                }

                break;
            default: throw new ArgumentException($"cannot write {value.GetType()}", nameof(value));
        }
    }

    private static object? Read(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                var unsigned = reader.ReadUInt64();
                return unsigned <= long.MaxValue ? (object)(long)unsigned : unsigned;
            case MessagePackType.Integer:
                return reader.ReadInt64();
            case MessagePackType.Float when reader.NextCode == MessagePackCode.Float32:
                return reader.ReadSingle();
            case MessagePackType.Float:
                return reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Binary:
                return reader.ReadBytes()!.Value.ToArray();
            case MessagePackType.Array:
                var items = new object?[reader.ReadArrayHeader()];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = Read(ref reader);
                }

                return items;
            case MessagePackType.Map:
                var count = reader.ReadMapHeader();
                var entries = new List<(object Key, object? Value)>(count);
                for (var i = 0; i < count; i++)
                {
                    var key = Read(ref reader) ?? throw new InvalidOperationException("a nil map key");
                    entries.Add((key, Read(ref reader)));
                }

                return new WireMap(entries);
            case MessagePackType.Extension:
                var header = reader.ReadExtensionFormatHeader();
                if (header.TypeCode == -1)
                {
                    return new DateTimeOffset(DateTime.SpecifyKind(reader.ReadDateTime(header), DateTimeKind.Utc));
                }

                return new Extension(header.TypeCode, reader.ReadRaw(header.Length).ToArray());
            default:
                throw new InvalidOperationException($"not a MessagePack value: 0x{reader.NextCode:x2}");
        }
    }

    private static void Append(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append("nil");
                break;
            case bool b:
                builder.Append(b ? "true" : "false");
                break;
            case int or long or ulong:
                builder.Append("int:").Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case float f:
                builder.Append(float.IsNaN(f) ? "f32:NaN" : Invariant($"f32:{BitConverter.SingleToUInt32Bits(f):x8}({f:R})"));
                break;
            case double d:
                builder.Append(double.IsNaN(d) ? "f64:NaN" : Invariant($"f64:{BitConverter.DoubleToUInt64Bits(d):x16}({d:R})"));
                break;
            case string s:
                AppendQuoted(builder, s);
                break;
            case byte[] bytes:
                builder.Append("bin:").Append(Convert.ToHexStringLower(bytes));
                break;
            case DateTimeOffset time:
                builder.Append("ts:").Append(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                break;
            case Extension ext:
                builder.Append(Invariant($"ext({ext.Type}):")).Append(Convert.ToHexStringLower(ext.Data));
                break;
            case RawBytes raw:
                builder.Append("raw:").Append(Convert.ToHexStringLower(raw.Bytes));
                break;
            case WireMap map:
                builder.Append('{');
                for (var i = 0; i < map.Entries.Count; i++)
                {
                    builder.Append(i == 0 ? "" : ", ");
                    Append(builder, map.Entries[i].Key);
                    builder.Append(": ");
                    Append(builder, map.Entries[i].Value);
                }

                builder.Append('}');
                break;
            case IEnumerable items:
                builder.Append('[');
                var first = true;
                foreach (var item in items)
                {
                    builder.Append(first ? "" : ", ");
                    Append(builder, item);
                    first = false;
                }

                builder.Append(']');
                break;
            default:
                throw new ArgumentException($"cannot describe {value.GetType()}", nameof(value));
        }
    }

    private static void AppendQuoted(StringBuilder builder, string value)
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

/// <summary>A map in wire order; <see cref="With"/> and <see cref="Without"/> return changed copies.</summary>
public sealed class WireMap(IEnumerable<(object Key, object? Value)> entries)
{
    public IReadOnlyList<(object Key, object? Value)> Entries { get; } = entries.ToList();

    /// <summary>The keys in wire order; one that is not a string as its <see cref="Wire.Describe"/> text.</summary>
    public IReadOnlyList<string> Keys => Entries.Select(e => e.Key as string ?? Wire.Describe(e.Key)).ToList();

    public object? this[string key] => Entries.First(e => Equals(e.Key, key)).Value;

    /// <summary>Replaces the value of <paramref name="key"/>, or appends it when missing.</summary>
    public WireMap With(object key, object? value)
    {
        var copy = Entries.ToList();
        var index = copy.FindIndex(e => Equals(e.Key, key));
        if (index >= 0)
        {
            copy[index] = (key, value);
        }
        else
        {
            copy.Add((key, value));
        }

        return new WireMap(copy);
    }

    public WireMap Without(object key) => new(Entries.Where(e => !Equals(e.Key, key)));

    public override string ToString() => Wire.Describe(this);
}

/// <summary>Bytes that <see cref="Wire.Encode"/> writes as they are.</summary>
public sealed record RawBytes(byte[] Bytes);

public sealed record Extension(sbyte Type, byte[] Data);
