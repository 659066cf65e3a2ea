using System.Reflection;
using System.Text;
using ErrorHub.Testing;
using Xunit;

namespace ErrorHub.Tests.PublicApi;

/// <summary>
/// Freezes the SDK's public API: adding, removing or changing a public member fails this test until the
/// snapshot is updated on purpose, so the public surface never grows by accident.
/// </summary>
public sealed class PublicApiSnapshotTests
{
    [Fact]
    public void ErrorHub_public_API_is_unchanged() =>
        Snapshot.Verify(Describe(typeof(IErrorHubClient).Assembly), "ErrorHub.PublicApi");

    [Fact]
    public void ErrorHub_AspNetCore_public_API_is_unchanged() =>
        Snapshot.Verify(Describe(Assembly.Load("ErrorHub.AspNetCore")), "ErrorHub.AspNetCore.PublicApi");

    internal static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeKind(type)).Append(' ').Append(Name(type)).Append('\n');
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(Flags)
                .Where(m => m is not MethodInfo { IsSpecialName: true })
                .Select(Member)
                .Where(m => m is not null)
                .Order(StringComparer.Ordinal);
            foreach (var member in members)
            {
                text.Append("    ").Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string TypeKind(Type type) => type switch
    {
        { IsInterface: true } => "interface",
        { IsEnum: true } => "enum",
        { IsValueType: true } => "struct",
        { IsAbstract: true, IsSealed: true } => "static class",
        { IsSealed: true } => "sealed class",
        _ => "class",
    };

    private static string? Member(MemberInfo member)
    {
        var nullability = new NullabilityInfoContext();
        return member switch
        {
            ConstructorInfo c => $"ctor({Parameters(c.GetParameters(), nullability)})",
            PropertyInfo p => $"{Name(p.PropertyType, nullability.Create(p).ReadState)} {p.Name} {{ {Accessors(p)}}}",
            FieldInfo { IsSpecialName: false } f when f.DeclaringType!.IsEnum => f.Name,
            FieldInfo f when !f.IsSpecialName => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
            MethodInfo m => $"{(m.IsStatic ? "static " : "")}{Name(m.ReturnType, nullability.Create(m.ReturnParameter).ReadState)} {m.Name}({Parameters(m.GetParameters(), nullability)})",
            Type nested => $"nested {Name(nested)}",
            _ => null,
        };
    }

    private static string Accessors(PropertyInfo property)
    {
        var text = new StringBuilder();
        if (property.GetMethod is { IsPublic: true })
        {
            text.Append("get; ");
        }

        if (property.SetMethod is { IsPublic: true } setter)
        {
            var isInit = setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit");
            text.Append(isInit ? "init; " : "set; ");
        }

        return text.ToString();
    }

    private static string Parameters(ParameterInfo[] parameters, NullabilityInfoContext nullability) =>
        string.Join(", ", parameters.Select(p =>
            $"{(p.Member is MethodInfo m && m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute)) && p.Position == 0 ? "this " : "")}" +
            $"{Name(p.ParameterType, nullability.Create(p).ReadState)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type type, NullabilityState state = NullabilityState.Unknown)
    {
        var suffix = state == NullabilityState.Nullable && !type.IsValueType ? "?" : "";
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }

        if (!type.IsGenericType)
        {
            return (type.FullName ?? type.Name) + suffix;
        }

        var name = type.GetGenericTypeDefinition().FullName!;
        name = name[..name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(a => Name(a)))}>{suffix}";
    }
}
