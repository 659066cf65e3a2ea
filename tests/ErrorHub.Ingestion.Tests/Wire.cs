using System.Buffers;
using System.Collections;
using ErrorHub.Protocol.MessagePack;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Builds MessagePack request bodies from a small value tree, with the server's own writer. Maps keep
/// the order they are written in, and can be copied with a field changed, so a test states only what
/// differs from a valid batch.
/// </summary>
internal static class Wire
{
    public static WireMap Map(params (object Key, object? Value)[] entries) => new(entries);

    public static object?[] Array(params object?[] items) => items;

    /// <summary>Bytes written as they are: for headers that lie, invalid UTF-8, reserved codes.</summary>
    public static RawBytes Raw(params byte[] bytes) => new(bytes);

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

    public static byte[] Encode(object? value)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(output);
        Write(ref writer, output, value);
        writer.Flush();
        return output.WrittenSpan.ToArray();
    }

    private static void Write(ref MessagePackWriter writer, ArrayBufferWriter<byte> output, object? value)
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
            case byte[] bytes: writer.WriteBinary(bytes); break;
            case DateTimeOffset time: writer.WriteTimestamp(time); break;
            case Extension ext: writer.WriteExtension(ext.Type, ext.Data); break;
            case RawBytes raw:
                writer.Flush();
                output.Write(raw.Bytes);
                break;
            case WireMap map:
                writer.WriteMapHeader(map.Entries.Count);
                foreach (var (key, entry) in map.Entries)
                {
                    Write(ref writer, output, key);
                    Write(ref writer, output, entry);
                }

                break;
            case IEnumerable items:
                var list = items.Cast<object?>().ToList();
                writer.WriteArrayHeader(list.Count);
                foreach (var item in list)
                {
                    Write(ref writer, output, item);
                }

                break;
            default: throw new ArgumentException($"cannot write {value.GetType()}", nameof(value));
        }
    }
}

/// <summary>A map in wire order; <see cref="With"/> and <see cref="Without"/> return changed copies.</summary>
internal sealed class WireMap(IEnumerable<(object Key, object? Value)> entries)
{
    public IReadOnlyList<(object Key, object? Value)> Entries { get; } = entries.ToList();

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
}

internal sealed record RawBytes(byte[] Bytes);

internal sealed record Extension(sbyte Type, byte[] Data);
