using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Users, memberships, invitations and API tokens: the records behind sign-in and the read API.</summary>
public abstract partial class StoreContractTests
{
    private static UserAccount User(string email, UserRole role = UserRole.Member, DateTimeOffset? created = null) =>
        new(Guid.NewGuid(), email, "Name of " + email, "AQAAAAIAAYagAAAAE" + email, role, Guid.NewGuid().ToString("N"), created ?? T0);

    [Fact]
    public async Task Users_are_created_found_by_id_and_email_and_listed_by_email_and_an_email_is_taken_once()
    {
        var zoe = User("zoe@example.com", UserRole.Admin);
        var adam = User("adam@example.com", created: T0.AddDays(1));

        (await Store.Access.CreateUserAsync(zoe)).Should().BeTrue();
        (await Store.Access.CreateUserAsync(adam)).Should().BeTrue();
        (await Store.Access.CreateUserAsync(User("zoe@example.com"))).Should().BeFalse("the email belongs to zoe");

        (await Store.Access.GetUserAsync(zoe.Id)).Should().Be(zoe);
        (await Store.Access.FindUserByEmailAsync("adam@example.com")).Should().Be(adam);
        (await Store.Access.FindUserByEmailAsync("nobody@example.com")).Should().BeNull();
        (await Store.Access.GetUserAsync(Guid.NewGuid())).Should().BeNull();
        (await Store.Access.GetUsersAsync()).Should().Equal(adam, zoe);
    }

    [Fact]
    public async Task An_updated_user_reads_back_with_every_field_but_keeps_email_and_creation_time()
    {
        var user = User("o'brien+\\tag@example.com");
        await Store.Access.CreateUserAsync(user);
        var changed = user with
        {
            Email = "changed@example.com",
            CreatedAt = T0.AddYears(1),
            Name = "Siobhán O'Brien 🎉",
            PasswordHash = "new-hash",
            Role = UserRole.Admin,
            SecurityStamp = "new-stamp",
            FailedLogins = 4,
            LockedUntil = T0.AddMinutes(15),
            DisabledAt = T0.AddDays(2),
        };

        await Store.Access.UpdateUserAsync(changed);

        (await Store.Access.GetUserAsync(user.Id)).Should().Be(changed with { Email = user.Email, CreatedAt = user.CreatedAt });
        await Store.Access.UpdateUserAsync(changed with { FailedLogins = 0, LockedUntil = null, DisabledAt = null });
        (await Store.Access.FindUserByEmailAsync(user.Email)).Should().BeEquivalentTo(new { FailedLogins = 0, LockedUntil = (DateTimeOffset?)null, DisabledAt = (DateTimeOffset?)null, IsDisabled = false });
    }

    [Fact]
    public async Task Memberships_are_added_once_removed_and_read_per_project_and_per_user()
    {
        var alice = Guid.NewGuid();
        var bob = Guid.NewGuid();
        await Store.Access.AddMemberAsync(1, alice);
        await Store.Access.AddMemberAsync(1, alice);
        await Store.Access.AddMemberAsync(1, bob);
        await Store.Access.AddMemberAsync(2, alice);

        (await Store.Access.GetMembersAsync(1)).Should().BeEquivalentTo([alice, bob]);
        (await Store.Access.GetMembershipsAsync(alice)).Should().Equal(1, 2);

        await Store.Access.RemoveMemberAsync(1, alice);
        await Store.Access.RemoveMemberAsync(3, alice);

        (await Store.Access.GetMembersAsync(1)).Should().Equal(bob);
        (await Store.Access.GetMembershipsAsync(alice)).Should().Equal(2);
        (await Store.Access.GetMembershipsAsync(Guid.NewGuid())).Should().BeEmpty();

        await Store.Access.AddMemberAsync(1, alice);
        (await Store.Access.GetMembershipsAsync(alice)).Should().Equal([1, 2], "a member removed can be added again");
    }

    [Fact]
    public async Task Invitations_are_found_by_their_token_hash_listed_newest_first_and_record_acceptance_and_revocation()
    {
        var admin = Guid.NewGuid();
        var older = new Invitation(Guid.NewGuid(), "hash-older", "dev@example.com", UserRole.Member, [3, 1], admin, T0, T0.AddDays(7));
        var newer = new Invitation(Guid.NewGuid(), "hash-newer", "ops@example.com", UserRole.Admin, [], admin, T0.AddHours(1), T0.AddDays(8));
        await Store.Access.CreateInvitationAsync(older);
        await Store.Access.CreateInvitationAsync(newer);

        (await Store.Access.FindInvitationAsync("hash-older")).Should().Be(older);
        (await Store.Access.FindInvitationAsync("no-such-hash")).Should().BeNull();
        (await Store.Access.GetInvitationsAsync()).Should().Equal(newer, older);

        await Store.Access.UpdateInvitationAsync(older with { AcceptedAt = T0.AddDays(1), Email = "ignored@example.com" });
        await Store.Access.UpdateInvitationAsync(newer with { RevokedAt = T0.AddDays(2) });

        (await Store.Access.FindInvitationAsync("hash-older")).Should().Be(older with { AcceptedAt = T0.AddDays(1) });
        var revoked = await Store.Access.FindInvitationAsync("hash-newer");
        revoked.Should().Be(newer with { RevokedAt = T0.AddDays(2) });
        revoked!.IsOpenAt(T0.AddHours(2)).Should().BeFalse();
        older.IsOpenAt(T0.AddHours(2)).Should().BeTrue();
        older.IsOpenAt(T0.AddDays(7)).Should().BeFalse("it expired");
    }

    [Fact]
    public async Task Api_tokens_are_found_by_hash_listed_per_user_revoked_by_their_owner_only_and_remember_their_last_use()
    {
        var owner = Guid.NewGuid();
        var other = Guid.NewGuid();
        var ci = new ApiToken(Guid.NewGuid(), owner, "CI 'export'", "hash-ci", T0);
        var script = new ApiToken(Guid.NewGuid(), owner, "script", "hash-script", T0.AddHours(1));
        var foreign = new ApiToken(Guid.NewGuid(), other, "theirs", "hash-theirs", T0);
        foreach (var token in new[] { ci, script, foreign })
        {
            await Store.Access.CreateApiTokenAsync(token);
        }

        (await Store.Access.FindApiTokenAsync("hash-ci")).Should().Be(ci);
        (await Store.Access.FindApiTokenAsync("hash-unknown")).Should().BeNull();
        (await Store.Access.GetApiTokensAsync(owner)).Should().Equal(script, ci);

        await Store.Access.MarkApiTokenUsedAsync(ci.Id, T0.AddDays(1));
        (await Store.Access.RevokeApiTokenAsync(other, ci.Id, T0.AddDays(2))).Should().BeFalse("only its owner revokes a token");
        (await Store.Access.RevokeApiTokenAsync(owner, ci.Id, T0.AddDays(2))).Should().BeTrue();
        (await Store.Access.RevokeApiTokenAsync(owner, ci.Id, T0.AddDays(3))).Should().BeFalse("it is revoked already");

        var stored = await Store.Access.FindApiTokenAsync("hash-ci");
        stored.Should().Be(ci with { LastUsedAt = T0.AddDays(1), RevokedAt = T0.AddDays(2) });
        stored!.IsActive.Should().BeFalse();
        (await Store.Access.FindApiTokenAsync("hash-script"))!.IsActive.Should().BeTrue();
    }

    [Fact]
    public async Task A_token_revoked_by_one_process_stays_revoked_while_another_records_its_uses()
    {
        // Two dashboard processes: one revokes a token while the other, serving that token's requests, records its
        // uses. Whatever the interleaving, the revocation stands and the latest use is kept.
        var stores = await StoresSharingOneDatabaseAsync(2);

        var (revoking, serving) = (stores[0], stores[1]);
        var owner = Guid.NewGuid();
        const int Uses = 12;
        for (var round = 0; round < 16; round++)
        {
            var token = new ApiToken(Guid.NewGuid(), owner, $"round {round}", $"hash-round-{round}", T0);
            await revoking.Access.CreateApiTokenAsync(token);
            var uses = Task.Run(async () =>
            {
                for (var use = 1; use <= Uses; use++)
                {
                    await serving.Access.MarkApiTokenUsedAsync(token.Id, T0.AddMinutes(use));
                }
            });
            await Task.Delay(TimeSpan.FromMilliseconds(round % 4 * 4)); // the revocation lands at another point among the uses each round
            (await revoking.Access.RevokeApiTokenAsync(owner, token.Id, T0.AddDays(1))).Should().BeTrue();
            await uses;

            foreach (var store in stores)
            {
                var stored = await store.Access.FindApiTokenAsync(token.TokenHash);
                stored.Should().Be(token with { LastUsedAt = T0.AddMinutes(Uses), RevokedAt = T0.AddDays(1) }, $"round {round}: revoked, with its latest use");
            }
        }
    }
}
