using System.Reflection;
using System.Text;
using ErrorHub.Ingestion.Decoding;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>Map keys are recognised from their bytes: every field of the protocol, and nothing that only looks like one.</summary>
public sealed class WireKeysTests
{
    public static TheoryData<string> AllFieldNames()
    {
        var names = new TheoryData<string>();
        // Ingest's own copy of the names (the SDK's source file compiled into it), the one its decoder switches on.
        var wireFields = typeof(WireKeys).Assembly.GetType("ErrorHub.Protocol.WireFields", throwOnError: true)!;
        foreach (var field in wireFields.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)))
        {
            names.Add((string)field.GetRawConstantValue()!);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(AllFieldNames))]
    public void Every_field_name_of_the_protocol_is_recognised_as_its_own_constant(string name)
    {
        var known = WireKeys.Known(Encoding.UTF8.GetBytes(name));

        known.Should().Be(name, "a field the switch misses would be skipped as unknown and its value lost");
        string.IsInterned(known!).Should().NotBeNull("the answer is the constant itself, not a string made per key");
    }

    [Theory]
    [MemberData(nameof(AllFieldNames))]
    public void A_name_off_by_one_byte_or_a_prefix_or_in_another_case_is_not_recognised(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        var changed = (byte[])bytes.Clone();
        changed[^1] ^= 0x01;

        WireKeys.Known(changed).Should().BeNull();
        WireKeys.Known(bytes.AsSpan(0, bytes.Length - 1)).Should().BeNull();
        WireKeys.Known([.. bytes, (byte)'x']).Should().BeNull();
        WireKeys.Known(Encoding.UTF8.GetBytes(name.ToUpperInvariant())).Should().BeNull("the protocol's names are lower case and compared exactly");
    }
}
