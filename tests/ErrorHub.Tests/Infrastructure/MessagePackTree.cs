using ErrorHub.Protocol.MessagePack;

namespace ErrorHub.Tests.Infrastructure;

/// <summary>Reads any MessagePack document into plain objects (maps, lists, strings, longs...) for assertions.</summary>
internal static class MessagePackTree
{
    public static object? Read(byte[] bytes)
    {
        var reader = new MessagePackReader(bytes);
        var value = ReadValue(ref reader);
        if (!reader.End)
        {
            throw new InvalidOperationException($"trailing bytes at {reader.Position}");
        }

        return value;
    }

    public static Dictionary<string, object?> ReadMap(byte[] bytes) => (Dictionary<string, object?>)Read(bytes)!;

    private static object? ReadValue(ref MessagePackReader reader)
    {
        switch (reader.PeekType())
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Integer:
                return reader.ReadInt64();
            case MessagePackType.Float:
                return reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Binary:
                return reader.ReadBinary().ToArray();
            case MessagePackType.Extension:
                return reader.ReadTimestamp();
            case MessagePackType.Array:
                var list = new List<object?>();
                for (var count = reader.ReadArrayHeader(); count > 0; count--)
                {
                    list.Add(ReadValue(ref reader));
                }

                return list;
            default:
                var map = new Dictionary<string, object?>();
                for (var count = reader.ReadMapHeader(); count > 0; count--)
                {
                    var key = reader.ReadString();
                    map.Add(key, ReadValue(ref reader)); // Add: a duplicated key is a bug worth failing on
                }

                return map;
        }
    }

    public static Dictionary<string, object?> Map(this object? value) => (Dictionary<string, object?>)value!;

    public static List<object?> List(this object? value) => (List<object?>)value!;
}
