using System.Security.Claims;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>
/// The signed-in user is the app's object (its own identity or principal class, a claims transformation's): one whose
/// getters throw costs the event those fields, never the event. Real requests through the real middleware; before, the
/// failure of such a request was not reported at all.
/// </summary>
public sealed class HostileUserTests
{
    [Theory]
    [InlineData("name throws")]
    [InlineData("claims throw")]
    [InlineData("IsAuthenticated throws")]
    public async Task A_signed_in_user_whose_getters_throw_costs_the_event_only_those_fields(string hostile)
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.Use((context, next) =>
            {
                context.User = HostilePrincipal(hostile);
                return next(context);
            });
            pipeline.UseErrorHub();
            pipeline.MapGet("/checkout", () => Shop.Checkout("holiday"));
            pipeline.MapGet("/reported", (IErrorHubClient errorHub) =>
            {
                errorHub.CaptureException(new TimeoutException("reported by the app"));
                return "ok";
            });
        });

        (await app.GetAsync("/checkout")).Should().Be(500);
        (await app.GetAsync("/reported")).Should().Be(200);

        var events = app.Events.ToList();
        events.Should().HaveCount(2, "an unhandled failure and one the app reports arrive whatever the user's getters do");
        foreach (var reported in events)
        {
            switch (hostile)
            {
                case "name throws":
                    reported.User.Should().BeEquivalentTo(new { Id = "id-alice", Username = (string?)null, Email = "alice@example.com" });
                    break;
                case "claims throw":
                    reported.User.Should().BeEquivalentTo(new { Id = (string?)null, Username = "alice", Email = (string?)null });
                    break;
                default:
                    reported.User.Should().BeNull("a user the app cannot say is signed in is no user");
                    break;
            }
        }
    }

    private static ClaimsPrincipal HostilePrincipal(string hostile)
    {
        Claim[] claims = [new(ClaimTypes.NameIdentifier, "id-alice"), new(ClaimTypes.Name, "alice"), new(ClaimTypes.Email, "alice@example.com")];
        return hostile switch
        {
            "name throws" => new ClaimsPrincipal(new ThrowingIdentity(claims, nameThrows: true)),
            "IsAuthenticated throws" => new ClaimsPrincipal(new ThrowingIdentity(claims, nameThrows: false)),
            _ => new ThrowingClaimsPrincipal(new ClaimsIdentity(claims, "Test")),
        };
    }

    private sealed class ThrowingIdentity(IEnumerable<Claim> claims, bool nameThrows) : ClaimsIdentity(claims, "Test")
    {
        public override string? Name => nameThrows ? throw new InvalidOperationException("the app's identity is broken") : base.Name;

        public override bool IsAuthenticated
        {
            get
            {
                if (!nameThrows)
                {
                    throw new InvalidOperationException("the app's identity is broken");
                }

                return true;
            }
        }
    }

    private sealed class ThrowingClaimsPrincipal(ClaimsIdentity identity) : ClaimsPrincipal(identity)
    {
        public override Claim? FindFirst(string type) => throw new InvalidOperationException("the app's principal is broken");

        public override Claim? FindFirst(Predicate<Claim> match) => throw new InvalidOperationException("the app's principal is broken");
    }
}
