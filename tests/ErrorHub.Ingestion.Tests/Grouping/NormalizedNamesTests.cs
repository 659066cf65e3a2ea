using System.Security.Cryptography;
using System.Text;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Protocol;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>Grouping's remembered names and its hash give what the rules give, and memory stays bounded whatever clients send.</summary>
public sealed class NormalizedNamesTests
{
    public static TheoryData<string?, string> Frames => new()
    {
        { "Shop.Checkout.CheckoutService+<PlaceOrderAsync>d__4", "MoveNext" },
        { "Shop.Repo`1+<<Get>b__0>d[[Shop.Outer+Inner, Shop]]", "MoveNext" },
        { "Program", "<Main>b__0_1" },
        { "Program", "<<Main>$>g__Validate|0_0" },
        { "System.Linq.ThrowHelper", "ThrowMoreThanOneMatchException" },
        { null, "lambda_method12" },
        { "", "Run" },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void A_remembered_frame_normalizes_as_the_rules_say_the_first_time_and_every_time_after(string? type, string function)
    {
        var expected = DotNetNames.Normalize(type, function);

        NormalizedNames.Normalize(type, function).Should().Be(expected);
        NormalizedNames.Normalize(type, function).Should().Be(expected, "the second answer is the remembered one");
        NormalizedNames.TypeAndFunction(type, function).Should().Be(string.IsNullOrEmpty(expected.Type) ? null : $"{expected.Type}.{expected.Function}");
        if (!string.IsNullOrEmpty(type))
        {
            NormalizedNames.NormalizeTypeName(type).Should().Be(DotNetNames.NormalizeTypeName(type));
            NormalizedNames.NormalizeTypeName(type).Should().Be(DotNetNames.NormalizeTypeName(type));
        }
    }

    [Fact]
    public void A_client_sending_ever_new_names_fills_the_memory_to_its_bound_and_no_further_and_still_gets_the_right_names()
    {
        for (var i = 0; i < NormalizedNames.MaxEntries + 5_000; i++)
        {
            NormalizedNames.Normalize($"Flood.Type{i}+<Run{i}>d__1", "MoveNext").Should().Be(($"Flood.Type{i}", $"Run{i}"));
        }

        NormalizedNames.Count.Should().BeLessThanOrEqualTo(NormalizedNames.MaxEntries);
        NormalizedNames.Normalize("Late.Type`2+<Go>d__9", "MoveNext").Should().Be(DotNetNames.Normalize("Late.Type`2+<Go>d__9", "MoveNext"));
        NormalizedNames.NormalizeTypeName("Late.Other`1+Nested").Should().Be("Late.Other.Nested");
    }

    [Fact]
    public void The_hash_is_sha256_of_each_component_behind_its_utf8_length_whatever_the_components_size_or_script()
    {
        string[][] cases =
        [
            [],
            ["a"],
            ["type:KeyNotFoundException", "frame:Shop.Cart.Add"],
            ["Größe: 数据", "🙂"],
            [new string('x', 5_000), "a\nb", ""],
            [new string('é', 70_000)], // past the kept buffer's size: hashed all the same, and the buffer is not kept
        ];

        foreach (var components in cases)
        {
            Grouper.Hash(components).Should().Be(Reference(components));
            Grouper.Hash(components).Should().Be(Reference(components), "the per-thread buffer is reused");
        }
    }

    private static string Reference(IEnumerable<string> components)
    {
        var text = new StringBuilder();
        foreach (var component in components)
        {
            text.Append(Encoding.UTF8.GetByteCount(component)).Append(':').Append(component).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
    }
}
