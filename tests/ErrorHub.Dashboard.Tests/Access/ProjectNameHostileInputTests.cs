using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// Hostile names for projects and their keys, through the service the settings pages call, against the real store: a
/// name is one line of valid Unicode text, so lists, page titles and alert e-mail subjects show what the admin typed.
/// </summary>
public sealed class ProjectNameHostileInputTests
{
    // Built here, not passed as theory data: xUnit's serialization of theory data turns a lone surrogate into U+FFFD.
    private static readonly string[] Refused =
    [
        "Shop\r\nBcc: everyone@example.com",
        "Shop\0",
        "Shop\u0007bell",
        "Shop\u0085next line",
        "Shop \uD800 broken",
        "Shop \uDC00",
        new string('x', 100_000),
    ];

    [Fact]
    public async Task A_project_or_key_name_that_is_not_one_line_of_valid_text_is_refused_with_a_clear_answer_and_nothing_is_stored()
    {
        using var server = DashboardServer.Start();
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var projectAdmin = server.Services.GetRequiredService<ProjectAdmin>();
        var before = (await server.Projects.GetProjectsAsync()).Select(p => (p.Id, p.Name)).ToList();

        foreach (var name in Refused)
        {
            var created = await projectAdmin.CreateAsync(admin!.Id, name);
            var renamed = await projectAdmin.RenameAsync(admin.Id, 1, name);
            var keyAdded = await projectAdmin.AddKeyAsync(admin.Id, 1, name);

            created.Value.Should().BeNull(name);
            created.Problem.Should().MatchRegex("one line of text|valid Unicode|up to 100 characters");
            renamed.Should().MatchRegex("one line of text|valid Unicode|up to 100 characters");
            keyAdded.Should().MatchRegex("one line of text|valid Unicode|up to 100 characters");
        }

        (await server.Projects.GetProjectsAsync()).Select(p => (p.Id, p.Name)).Should().Equal(before);
        (await server.Projects.GetKeysAsync(1)).Should().ContainSingle("only the project's first key");
    }

    [Theory]
    [InlineData("Shop \u05D7\u05E0\u05D5\u05EA", "Hebrew letters")]
    [InlineData("Shop \U0001F6D2", "a character outside the BMP (a surrogate pair)")]
    [InlineData("  Shop  ", "spaces around it, trimmed")]
    public async Task Names_in_any_script_are_kept_as_typed(string name, string because)
    {
        using var server = DashboardServer.Start();
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var projectAdmin = server.Services.GetRequiredService<ProjectAdmin>();

        (await projectAdmin.RenameAsync(admin!.Id, 1, name)).Should().BeNull(because);
        (await projectAdmin.AddKeyAsync(admin.Id, 1, name)).Should().BeNull(because);

        (await server.Projects.GetProjectAsync(1))!.Name.Should().Be(name.Trim());
        (await server.Projects.GetKeysAsync(1)).Select(k => k.Label).Should().Contain(name.Trim());
    }
}
