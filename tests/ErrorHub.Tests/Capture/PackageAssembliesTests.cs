using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

/// <summary>Which assemblies came from NuGet packages, read from a real deps file: this test host's own, and broken ones.</summary>
public sealed class PackageAssembliesTests
{
    [Fact]
    public void This_apps_packages_are_read_from_its_deps_file_and_its_projects_are_not_packages()
    {
        var packages = PackageAssemblies.Current;

        packages.Contains("FluentAssertions").Should().BeTrue("a NuGet package this test project references");
        packages.Contains("MessagePack").Should().BeTrue("a package the SDK brings along");
        packages.Contains("messagepack").Should().BeTrue("assembly names are compared as the loader does, ignoring case");
        packages.Contains("ErrorHub.Tests").Should().BeFalse("the app itself is a project");
        packages.Contains("ErrorHub.Testing").Should().BeFalse("a project it references");
        packages.Contains("System.Private.CoreLib").Should().BeFalse("the framework is not in the app's deps file");
    }

    [Fact]
    public void A_project_library_and_a_package_of_a_hand_written_deps_file_are_told_apart()
    {
        var path = WriteDepsFile("""
            {
              "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0" },
              "targets": {
                ".NETCoreApp,Version=v10.0": {
                  "Shop/1.0.0": { "runtime": { "Shop.dll": {} } },
                  "Acme.Payments/2.1.0": { "runtime": { "lib/net8.0/Acme.Payments.dll": { "assemblyVersion": "2.1.0.0" } } },
                  "Acme.Shared/1.0.0": { "runtime": { "Acme.Shared.dll": {} } },
                  "Native.Lib/1.0.0": { "native": { "runtimes/linux-x64/native/libnative.so": {} },
                                        "runtimeTargets": { "runtimes/win/lib/net8.0/Native.Lib.Win.dll": { "rid": "win", "assetType": "runtime" },
                                                            "runtimes/win/native/native.dll": { "rid": "win", "assetType": "native" } } }
                },
                ".NETCoreApp,Version=v10.0/linux-x64": {
                  "Other.Target/1.0.0": { "runtime": { "lib/net8.0/Other.Target.dll": {} } }
                }
              },
              "libraries": {
                "Shop/1.0.0": { "type": "project", "serviceable": false, "sha512": "" },
                "Acme.Payments/2.1.0": { "type": "package", "serviceable": true, "sha512": "sha512-x" },
                "Acme.Shared/1.0.0": { "type": "project" },
                "Native.Lib/1.0.0": { "type": "package" },
                "Other.Target/1.0.0": { "type": "package" }
              }
            }
            """);

        var packages = PackageAssemblies.Read(path);

        packages.Contains("Acme.Payments").Should().BeTrue();
        packages.Contains("Native.Lib.Win").Should().BeTrue("a package's runtime-specific assembly is the package's too");
        packages.Contains("native").Should().BeFalse("a native file is no assembly");
        packages.Contains("Shop").Should().BeFalse();
        packages.Contains("Acme.Shared").Should().BeFalse("a library referenced as a project is the app's");
        packages.Contains("Other.Target").Should().BeFalse("only the target the app runs on counts");
        packages.Count.Should().Be(2);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{ not json")]
    [InlineData("[1, 2, 3]")]
    [InlineData("""{ "libraries": { "A/1": { "type": 42 } }, "targets": [] }""")]
    public void A_missing_or_broken_deps_file_means_no_packages_and_never_an_exception(string? content)
    {
        var path = content is null ? Path.Combine(Path.GetTempPath(), $"errorhub-missing-{Guid.NewGuid():N}.deps.json") : WriteDepsFile(content);

        var read = () => PackageAssemblies.Read(path);

        read.Should().NotThrow();
        read().Count.Should().Be(0);
        PackageAssemblies.Read(null).Count.Should().Be(0);
    }

    private static string WriteDepsFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"errorhub-{Guid.NewGuid():N}.deps.json");
        File.WriteAllText(path, content);
        return path;
    }
}
