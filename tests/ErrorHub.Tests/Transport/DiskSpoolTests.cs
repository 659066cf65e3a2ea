using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Disks;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using ErrorHub.Transport;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// The disk spool (<see cref="ErrorHubOptions.CacheDirectory"/>) against a real server on loopback and a real
/// directory: batches ingest cannot take go to disk, are resent oldest first when it answers again, survive a new
/// SDK instance, stay within their byte limit, and are sent once even by two SDKs sharing the directory.
/// </summary>
public sealed class DiskSpoolTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-spool-" + Guid.NewGuid().ToString("N"));
    private readonly string _outsideDirectory = Path.Combine(Path.GetTempPath(), "errorhub-outside-" + Guid.NewGuid().ToString("N"));
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync()
    {
        await _ingest.DisposeAsync();
        IngestHost.DeleteDirectory(_directory);
        IngestHost.DeleteDirectory(_outsideDirectory);
    }

    [Fact]
    public async Task While_ingest_fails_batches_wait_on_disk_and_are_sent_oldest_first_when_it_answers_again()
    {
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "5"));
        await using var sdk = Start(_clock, Spooling);
        var client = sdk.Client;

        client.CaptureMessage("a");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue("a spooled batch is safe: nothing is left to wait for");
        client.CaptureMessage("b");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(1, "b waits behind a on disk: the failing ingest is not asked again before Retry-After");
        SpoolFiles().Should().HaveCount(2);

        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromSeconds(5));
        client.CaptureMessage("c");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Messages().Should().Equal("a", "a", "b", "c");
        SpoolFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task Without_an_answer_from_ingest_a_batch_goes_to_disk_after_one_attempt_and_memory_stays_free()
    {
        var closedPort = FreeTcpPort();
        await using var sdk = Start(_clock, o =>
        {
            Spooling(o);
            o.Dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{closedPort}/1";
            o.MaxBatchSize = 10;
        });
        var client = sdk.Client;

        for (var i = 0; i < 50; i++)
        {
            client.CaptureMessage($"offline {i}").Should().NotBeNull();
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        SpoolFiles().Should().NotBeEmpty();
        client.Sender!.Drops.Total().Should().Be(0, "nothing is lost while the disk has room");
    }

    [Fact]
    public async Task A_cache_directory_that_cannot_be_written_falls_back_to_retries_in_memory()
    {
        // A directory that cannot be made (its parent is a file; a read-only mount or a full disk refuses the same way):
        // the batch must get the retries it gets without a CacheDirectory, not be given up after one attempt.
        Directory.CreateDirectory(_directory);
        var parentIsAFile = Path.Combine(_directory, "not-a-directory");
        await File.WriteAllTextAsync(parentIsAFile, "");
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "2"), RecordingIngest.Status(503, retryAfter: "2"));
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.CacheDirectory = Path.Combine(parentIsAFile, "spool");
        }, _logs);
        var client = sdk.Client;

        client.CaptureMessage("kept in memory");
        for (var i = 0; i < 2; i++)
        {
            await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2));
            _clock.Advance(TimeSpan.FromSeconds(2));
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Should().Equal("kept in memory", "kept in memory", "kept in memory");
        client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.StartsWith("ErrorHub could not keep 1 events in the cache directory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_a_full_disk_captures_never_throw_batches_are_retried_in_memory_and_given_up_ones_are_counted()
    {
        using var disk = SmallDisk.Mount("1m");
        var spool = Path.Combine(disk.Path, "spool");
        Directory.CreateDirectory(spool);
        disk.Fill();
        for (var i = 0; i < 6; i++)
        {
            _ingest.Answer(RecordingIngest.Status(503, retryAfter: "2"));
        }

        await using var sdk = Start(_clock, SpoolingIn(spool), _logs);
        var client = sdk.Client;

        client.CaptureMessage("on a full disk").Should().NotBeNull("the app never sees the disk's problem");
        for (var i = 0; i < 5; i++)
        {
            await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2));
            _clock.Advance(TimeSpan.FromSeconds(2));
        }

        await _ingest.WaitForRequestsAsync(6).Within();
        await TestGuard.WaitUntilAsync(() => client.Sender!.Drops.Total() > 0, "the batch to be given up");
        client.Sender!.Drops.Total().Should().Be(1, "the batch the disk could not keep got its attempts in memory, then was counted as given up");
        Directory.GetFiles(spool).Should().BeEmpty("a batch file the disk ran out of room for is not left half written");
        _logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.StartsWith("ErrorHub could not keep 1 events in the cache directory", StringComparison.Ordinal));

        client.CaptureMessage("ingest is back");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Should().EndWith("ingest is back");
    }

    [Fact]
    public async Task A_spooled_batch_sent_while_its_directory_is_read_only_is_sent_once_not_in_a_loop_and_deleted_once_it_can_be()
    {
        using var disk = SmallDisk.Mount("1m");
        var spool = Path.Combine(disk.Path, "spool");
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "5"));
        await using var sdk = Start(_clock, SpoolingIn(spool), _logs);
        var client = sdk.Client;
        client.CaptureMessage("spooled");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Directory.GetFiles(spool, "*" + DiskSpool.Extension).Should().ContainSingle();

        // The disk turns read-only (ext4 does so by itself on an I/O error): the file can be read and sent, not deleted.
        disk.SetReadOnly(true);
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromSeconds(5));
        client.CaptureMessage("while read-only");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        await Task.Delay(500); // a loop resending the file would show in the requests by now

        Messages().Should().Equal(["spooled", "spooled", "while read-only"], "the spooled batch goes out once more, not again and again because its file cannot be deleted");
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub sent the cached batch", StringComparison.Ordinal))
            .Which.Level.Should().Be(LogLevel.Warning);

        disk.SetReadOnly(false);
        client.CaptureMessage("writable again");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Messages().Should().Equal(["spooled", "spooled", "while read-only", "writable again"], "what was sent is not sent again");
        Directory.GetFiles(spool, "*" + DiskSpool.Extension).Should().BeEmpty("the sent batch's file goes once the disk lets it");
    }

    [Fact]
    public async Task A_sent_batchs_file_the_read_only_disk_kept_is_deleted_once_it_can_be_while_the_app_sends_nothing_and_the_next_start_does_not_resend_it()
    {
        using var disk = SmallDisk.Mount("1m");
        var spool = Path.Combine(disk.Path, "spool");
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "5"));
        await using (var sdk = Start(_clock, SpoolingIn(spool), _logs))
        {
            sdk.Client.CaptureMessage("spooled");
            (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

            disk.SetReadOnly(true);
            await _clock.WaitStartedAsync(TimeSpan.FromSeconds(5));
            _clock.Advance(TimeSpan.FromSeconds(5)); // the spool's retry: sent and acknowledged, but its file cannot go
            await TestGuard.WaitUntilAsync(() => _logs.Entries.Any(e => e.Message.StartsWith("ErrorHub sent the cached batch", StringComparison.Ordinal)), "the send of the spooled batch");

            // The app captures nothing more: the file still goes once the disk lets it, on the sender's own timer.
            disk.SetReadOnly(false);
            await TestGuard.WaitUntilAsync(
                () =>
                {
                    _clock.Advance(DiskSpool.SentFilesDeleteRetry);
                    return Directory.GetFiles(spool, "*" + DiskSpool.Extension).Length == 0;
                },
                "deleting the sent batch's file");
            Messages().Should().Equal(["spooled", "spooled"], "the acknowledged batch was sent once and its file deleted without another send");
            await StopWithoutMovingTheClockAsync(sdk);
        }

        await using var next = Start(_clock, SpoolingIn(spool));
        next.Client.CaptureMessage("next start");
        (await next.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Should().Equal(["spooled", "spooled", "next start"], "the next start finds no acknowledged batch left to send again");
    }

    [Fact]
    public async Task A_cache_directory_that_is_no_path_at_all_starts_the_SDK_without_a_spool_and_retries_in_memory()
    {
        // A NUL character (from a mangled environment variable, say) is no path: the app must start all the same.
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "2"));
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.CacheDirectory = _directory + "\0spool";
        }, _logs);
        var client = sdk.Client;

        client.IsEnabled.Should().BeTrue();
        client.CaptureMessage("kept in memory").Should().NotBeNull();
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromSeconds(2));

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Should().Equal("kept in memory", "kept in memory");
        client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Where(e => e.Message.Contains("CacheDirectory is not a valid path", StringComparison.Ordinal))
            .Should().ContainSingle().Which.Level.Should().Be(LogLevel.Warning);
    }

    [Fact]
    public void A_directory_the_disk_refuses_is_logged_once_then_at_most_once_a_minute_not_once_per_batch()
    {
        Directory.CreateDirectory(_directory);
        var parentIsAFile = Path.Combine(_directory, "not-a-directory");
        File.WriteAllText(parentIsAFile, "");
        var spool = new DiskSpool(Path.Combine(parentIsAFile, "spool"), long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));

        for (var i = 0; i < 30; i++)
        {
            spool.TryStore([[1, 2, 3]]).Should().BeFalse();
        }

        _clock.Advance(TimeSpan.FromSeconds(61));
        spool.TryStore([[1, 2, 3]]).Should().BeFalse();

        var warnings = _logs.Entries.Where(e => e.Message.StartsWith("ErrorHub could not keep", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        warnings.Should().HaveCount(2, "the first refusal, then one a minute");
        warnings[1].Should().Contain("29 more since the last one");
    }

    [Fact]
    public async Task Spooled_batches_survive_the_SDK_and_the_next_one_sends_them_at_start()
    {
        _ingest.Answer(RecordingIngest.Status(503));
        await using (var first = Start(_clock, Spooling))
        {
            first.Client.CaptureMessage("before the restart 1");
            first.Client.CaptureMessage("before the restart 2");
            (await first.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
            await StopWithoutMovingTheClockAsync(first);
        }

        SpoolFiles().Should().NotBeEmpty();
        var messagesBefore = Messages().Count;

        await using var second = Start(_clock, Spooling);
        second.Client.CaptureMessage("after the restart");
        (await second.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Messages().Skip(messagesBefore).Should().Equal("before the restart 1", "before the restart 2", "after the restart");
        SpoolFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task At_shutdown_what_ingest_did_not_take_in_time_goes_to_disk_instead_of_being_given_up()
    {
        _ingest.Answer(_ingest.Hang());
        var shutdownTimeout = TimeSpan.FromSeconds(3);
        var sdk = Start(_clock, o =>
        {
            Spooling(o);
            o.ShutdownTimeout = shutdownTimeout;
            o.MaxBatchSize = 1;
        }, _logs);
        var client = sdk.Client;
        client.CaptureMessage("in flight");
        await _ingest.WaitForRequestsAsync(1);
        client.CaptureMessage("queued");

        var disposal = sdk.Services.DisposeAsync().AsTask();
        await _clock.WaitStartedAsync(shutdownTimeout);
        _clock.Advance(shutdownTimeout);
        await disposal.Within();

        client.Sender!.GivenUpAtShutdownCount.Should().Be(0);
        _logs.Entries.Should().Contain(e => e.Message.StartsWith("ErrorHub kept 2 unsent events in", StringComparison.Ordinal));
        SpoolFiles().Should().NotBeEmpty();

        await using var next = Start(_clock, Spooling);
        (await next.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        next.Client.CaptureMessage("flush marker");
        (await next.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Skip(1).Should().BeEquivalentTo("in flight", "queued", "flush marker");
    }

    [Fact]
    public async Task Drop_counts_the_server_was_not_told_before_shutdown_are_reported_by_the_next_start()
    {
        void DroppingSecrets(ErrorHubOptions o)
        {
            Spooling(o);
            o.BeforeSend = (e, _) => e.Message!.StartsWith("secret", StringComparison.Ordinal) ? null : e;
        }

        await using (var first = Start(_clock, DroppingSecrets, _logs))
        {
            first.Client.CaptureMessage("secret 1");
            first.Client.CaptureMessage("secret 2");
            await StopWithoutMovingTheClockAsync(first);
        }

        _ingest.Requests.Should().BeEmpty("nothing was sent that could carry the counts");
        _logs.Entries.Should().Contain(e => e.Message.StartsWith("ErrorHub kept the count of 2 dropped events in", StringComparison.Ordinal));
        Directory.GetFiles(_directory, "*" + DiskSpool.DropsExtension).Should().ContainSingle();

        await using var second = Start(_clock, Spooling);
        second.Client.CaptureMessage("after the restart");
        (await second.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Dropped(_ingest.Requests.Single()).Should().Equal(new Dictionary<string, long> { ["before_send"] = 2 });
        Directory.GetFiles(_directory, "*" + DiskSpool.DropsExtension).Should().BeEmpty("the counts are reported once");
    }

    [Fact]
    public async Task Hostile_or_malformed_drop_count_files_are_ignored_and_deleted()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllLines(Path.Combine(_directory, "1" + DiskSpool.DropsExtension), ["queue_full 5", "invented_reason 7", "shutdown -3", "shutdown 1e9", "rejected", "spool_full 99999999999999999999"]);
        File.WriteAllText(Path.Combine(_directory, "2" + DiskSpool.DropsExtension), "queue_full 1\n" + new string('x', 10_000));

        await using var sdk = Start(_clock, Spooling);
        sdk.Client.CaptureMessage("first");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Dropped(_ingest.Requests.Single()).Should().Equal(new Dictionary<string, long> { ["queue_full"] = 5 });
        Directory.GetFiles(_directory, "*" + DiskSpool.DropsExtension).Should().BeEmpty();
    }

    [Fact]
    public async Task Drop_counts_as_large_as_a_long_in_several_files_are_reported_capped_never_wrapped_or_lost()
    {
        Directory.CreateDirectory(_directory);
        var huge = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllLines(Path.Combine(_directory, "1" + DiskSpool.DropsExtension), ["queue_full " + huge, "before_send " + huge]);
        File.WriteAllLines(Path.Combine(_directory, "2" + DiskSpool.DropsExtension), ["queue_full " + huge, "shutdown 4"]);

        void DroppingSecrets(ErrorHubOptions o)
        {
            Spooling(o);
            o.BeforeSend = (e, _) => e.Message!.StartsWith("secret", StringComparison.Ordinal) ? null : e;
        }

        await using var sdk = Start(_clock, DroppingSecrets);
        sdk.Client.CaptureMessage("secret");
        sdk.Client.CaptureMessage("first");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Dropped(_ingest.Requests.Single()).Should().Equal(new Dictionary<string, long>
        {
            ["queue_full"] = long.MaxValue,
            ["shutdown"] = 4,
            ["before_send"] = long.MaxValue,
        }, "two huge counts of one reason, or a huge one and this run's drop, stay the largest count, not a negative one nobody reports");
    }

    [Fact]
    public async Task Drop_counts_whose_sum_is_past_a_long_are_kept_at_stop_without_throwing_into_the_app()
    {
        Directory.CreateDirectory(_directory);
        var huge = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllLines(Path.Combine(_directory, "1" + DiskSpool.DropsExtension), ["queue_full " + huge, "before_send " + huge]);
        _ingest.Answer(RecordingIngest.Status(503));

        var first = Start(_clock, Spooling, _logs);
        first.Client.CaptureMessage("kept on disk");
        (await first.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        await FluentActions.Awaiting(() => StopWithoutMovingTheClockAsync(first)).Should().NotThrowAsync("stopping the SDK never throws into the app");
        await first.DisposeAsync();

        _logs.Entries.Should().Contain(e => e.Message.StartsWith($"ErrorHub kept the count of {huge} dropped events in", StringComparison.Ordinal));
        await using var second = Start(_clock, Spooling);
        second.Client.CaptureMessage("after the restart");
        (await second.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Skip(1).Select(Dropped).Should().ContainSingle(d => d.Count > 0, "the counts the 503 did not take are reported once, after the restart")
            .Which.Should().Equal(new Dictionary<string, long> { ["queue_full"] = long.MaxValue, ["before_send"] = long.MaxValue });
        Messages().Should().Contain(["kept on disk", "after the restart"]);
    }

    [Fact]
    public async Task Corrupt_or_cut_short_files_are_deleted_without_harm_and_the_good_ones_are_sent()
    {
        _ingest.Answer(RecordingIngest.Status(503));
        await using (var first = Start(_clock, Spooling))
        {
            first.Client.CaptureMessage("good");
            (await first.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
            await StopWithoutMovingTheClockAsync(first);
        }

        var good = SpoolFiles().Should().ContainSingle().Subject;
        var bytes = await File.ReadAllBytesAsync(good);
        await File.WriteAllBytesAsync(Path.Combine(_directory, "0000000000000000001-cut" + DiskSpool.Extension), bytes[..(bytes.Length / 2)]);
        var flipped = bytes.ToArray();
        flipped[^3] ^= 0xFF;
        await File.WriteAllBytesAsync(Path.Combine(_directory, "0000000000000000002-flipped" + DiskSpool.Extension), flipped);
        await File.WriteAllBytesAsync(Path.Combine(_directory, "0000000000000000003-garbage" + DiskSpool.Extension), "not a batch"u8.ToArray());
        await File.WriteAllBytesAsync(Path.Combine(_directory, "0000000000000000004-empty" + DiskSpool.Extension), []);

        await using var second = Start(_clock, Spooling, _logs);
        second.Client.CaptureMessage("after");
        (await second.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Messages().Skip(1).Should().Equal("good", "after");
        SpoolFiles().Should().BeEmpty();
        _logs.Entries.Count(e => e.Message.StartsWith("ErrorHub deleted the unreadable cached batch", StringComparison.Ordinal)).Should().Be(4);
        second.Client.Sender!.Drops.Total(SdkDropReason.SendFailed).Should().Be(4, "each deleted file held a batch of one event at least");
        _ingest.Requests.Select(Dropped).Where(d => d.Count > 0).Should().ContainSingle("the server is told, with the next batch it accepts")
            .Which.Should().Equal(new Dictionary<string, long> { ["send_failed"] = 4 });
    }

    [Fact]
    public async Task FIFOs_links_and_directories_named_like_batches_are_never_opened_and_the_good_batch_is_sent()
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([System.Text.Encoding.UTF8.GetBytes("good")]).Should().BeTrue();
        var good = SpoolFiles().Single();

        // Older than the good batch, so each is met first. The outside file is a valid batch: following the link would send it.
        var outside = Path.Combine(_outsideDirectory, "outside" + DiskSpool.Extension);
        Directory.CreateDirectory(_outsideDirectory);
        File.Copy(good, outside);
        MakeFifo(Path.Combine(_directory, "0000000000000000001-fifo" + DiskSpool.Extension));
        File.CreateSymbolicLink(Path.Combine(_directory, "0000000000000000002-zero" + DiskSpool.Extension), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(_directory, "0000000000000000003-urandom" + DiskSpool.Extension), "/dev/urandom");
        File.CreateSymbolicLink(Path.Combine(_directory, "0000000000000000004-outside" + DiskSpool.Extension), outside);
        Directory.CreateDirectory(Path.Combine(_directory, "0000000000000000005-directory" + DiskSpool.Extension));

        var drops = new SdkDrops();
        var reader = new DiskSpool(_directory, long.MaxValue, drops, _clock, _logs.CreateLogger("spool"));
        using var batch = await Task.Run(reader.TryTakeOldest).Within();

        batch.Should().NotBeNull();
        batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("good");
        batch.Complete();
        SpoolFiles().Should().BeEmpty("the FIFO and the links are deleted (the links only, not what they point to)");
        File.Exists(outside).Should().BeTrue("deleting a link never deletes its target");
        Directory.Exists(Path.Combine(_directory, "0000000000000000005-directory" + DiskSpool.Extension)).Should().BeTrue("a directory is not the spool's to delete");
        drops.Total(SdkDropReason.SendFailed).Should().Be(4, "each entry that is no batch is counted as a batch of one event lost");
        _logs.Entries.Count(e => e.Message.StartsWith("ErrorHub deleted the unreadable cached batch", StringComparison.Ordinal)).Should().Be(4);
    }

    [Fact]
    public async Task A_batch_file_swapped_for_a_FIFO_after_its_check_is_opened_without_waiting_deleted_and_the_next_batch_is_sent()
    {
        // The check saw a regular file; by the open it is a FIFO nothing ever writes to.
        var (reader, drops, swapped) = ABatchSwappedAfterItsCheckThenAGoodOne(MakeFifo);
        var taking = Task.Run(reader.TryTakeOldest);
        await ReleaseIfStuckOnFifoAsync(taking, swapped);

        using var batch = await taking;
        batch.Should().NotBeNull();
        batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("good");
        batch.Complete();
        SpoolFiles().Should().BeEmpty("the FIFO is deleted as an entry that is no batch");
        drops.Total(SdkDropReason.SendFailed).Should().Be(1);
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub deleted the unreadable cached batch", StringComparison.Ordinal))
            .Which.Message.Should().Contain("FIFO");
    }

    [Fact]
    public async Task A_batch_file_swapped_for_a_directory_after_its_check_is_left_alone_uncounted_and_the_next_batch_is_sent()
    {
        // Reading a directory fails even for root: the spool cannot tell it from a file gone meanwhile, and leaves it alone.
        var (reader, drops, swapped) = ABatchSwappedAfterItsCheckThenAGoodOne(path => Directory.CreateDirectory(path));

        using var batch = await Task.Run(reader.TryTakeOldest).Within();
        batch.Should().NotBeNull();
        batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("good");
        batch.Complete();
        Directory.Exists(swapped).Should().BeTrue("a directory is not the spool's to delete");
        drops.Total().Should().Be(0);
        (await Task.Run(reader.TryTakeOldest).Within()).Should().BeNull("the directory is passed over, not read again and again");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_batch_file_this_process_may_not_read_is_deleted_logged_and_counted_and_the_next_batch_is_sent()
    {
        var (unreadable, reader, drops) = AnUnreadableBatchThenAGoodOne(AnyoneMayAddAndDelete);

        using (var batch = await AsNobodyAsync(reader.TryTakeOldest).Within())
        {
            batch.Should().NotBeNull();
            batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("good");
            batch.Complete();
        }

        File.Exists(unreadable).Should().BeFalse("a batch this process may never read is given up, not met again every round");
        SpoolFiles().Should().BeEmpty();
        drops.Total(SdkDropReason.SendFailed).Should().Be(1, "its header is unreadable: a batch of one event lost at least");
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub deleted the unreadable cached batch", StringComparison.Ordinal))
            .Which.Message.Should().Contain(Path.GetFileName(unreadable)).And.Contain("permission denied");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_batch_file_this_process_may_neither_read_nor_delete_is_passed_over_counted_and_logged_once()
    {
        // The sticky bit: only a file's owner deletes it, as in a directory shared by the users of a machine.
        var (unreadable, reader, drops) = AnUnreadableBatchThenAGoodOne(UnixFileMode.StickyBit | AnyoneMayAddAndDelete);

        using (var batch = await AsNobodyAsync(reader.TryTakeOldest).Within())
        {
            batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("good");
            batch.Complete();
        }

        for (var round = 0; round < 3; round++)
        {
            (await AsNobodyAsync(reader.TryTakeOldest).Within()).Should().BeNull();
        }

        File.Exists(unreadable).Should().BeTrue("the disk would not delete it");
        drops.Total(SdkDropReason.SendFailed).Should().Be(1, "counted once, not once a round");
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub gave up on the cached batch", StringComparison.Ordinal))
            .Which.Message.Should().Contain("permission denied").And.Contain("could not delete it");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_damaged_batch_file_the_disk_will_not_delete_is_read_once_then_passed_over_counted_and_logged_once()
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([.. Enumerable.Range(0, 7).Select(i => System.Text.Encoding.UTF8.GetBytes(new string('x', 100 + i)))]).Should().BeTrue();
        var damaged = SpoolFiles().Should().ContainSingle().Subject;
        var bytes = await File.ReadAllBytesAsync(damaged);
        await File.WriteAllBytesAsync(damaged, bytes[..(bytes.Length - 50)]);
        File.SetUnixFileMode(damaged, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        // The sticky bit: only a file's owner (root here) deletes it; the reader, as nobody, may read it but not delete it.
        File.SetUnixFileMode(_directory, UnixFileMode.StickyBit | AnyoneMayAddAndDelete);
        var drops = new SdkDrops();
        var reader = new DiskSpool(_directory, long.MaxValue, drops, _clock, _logs.CreateLogger("spool"));
        var opened = 0;
        reader.AfterEntryCheckedForTests = path => opened += path == damaged ? 1 : 0;

        for (var round = 0; round < 4; round++)
        {
            (await AsNobodyAsync(reader.TryTakeOldest).Within()).Should().BeNull();
        }

        File.Exists(damaged).Should().BeTrue("the disk would not delete it");
        opened.Should().Be(1, "a batch given up on is not opened and read again every round");
        drops.Total(SdkDropReason.SendFailed).Should().Be(7, "its events are counted once, not once a round");
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub gave up on the cached batch", StringComparison.Ordinal))
            .Which.Message.Should().Contain("cut short").And.Contain("could not delete it");
        _logs.Entries.Should().NotContain(e => e.Message.StartsWith("ErrorHub deleted", StringComparison.Ordinal), "it was not deleted");
    }

    [Fact]
    public async Task A_cache_directory_that_is_a_file_is_left_as_it_is_and_batches_are_retried_in_memory()
    {
        Directory.CreateDirectory(_outsideDirectory);
        var file = Path.Combine(_outsideDirectory, "spool");
        await File.WriteAllTextAsync(file, "someone else's file");
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "2"));
        await using var sdk = Start(_clock, SpoolingIn(file), _logs);

        sdk.Client.CaptureMessage("kept in memory");
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromSeconds(2));

        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        Messages().Should().Equal("kept in memory", "kept in memory");
        sdk.Client.Sender!.Drops.Total().Should().Be(0);
        (await File.ReadAllTextAsync(file)).Should().Be("someone else's file");
        _logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.Message.StartsWith("ErrorHub could not keep 1 events in the cache directory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Storing_past_MaxCacheBytes_never_opens_a_FIFO_or_follows_a_link_and_deletes_the_oldest_real_batch()
    {
        Directory.CreateDirectory(_outsideDirectory);
        var outside = Path.Combine(_outsideDirectory, "outside");
        await File.WriteAllBytesAsync(outside, new byte[100]);
        Directory.CreateDirectory(_directory);

        // Older than every batch: the first entries the limit would delete.
        MakeFifo(Path.Combine(_directory, "0000000000000000001-fifo" + DiskSpool.Extension));
        File.CreateSymbolicLink(Path.Combine(_directory, "0000000000000000002-outside" + DiskSpool.Extension), outside);

        var drops = new SdkDrops();
        var spool = new DiskSpool(_directory, 1024 * 1024, drops, _clock, _logs.CreateLogger("spool"));
        for (var i = 0; i < 3; i++)
        {
            var large = new byte[400_000];
            large[0] = (byte)i;
            (await Task.Run(() => spool.TryStore([large])).Within()).Should().BeTrue("storing never waits on a FIFO");
        }

        drops.Total(SdkDropReason.SpoolFull).Should().Be(1, "three batches of 400 KB are past 1 MB: the oldest batch goes");
        var batches = SpoolFiles().Where(path => !path.Contains("-fifo", StringComparison.Ordinal) && !path.Contains("-outside", StringComparison.Ordinal)).ToList();
        batches.Should().HaveCount(2);
        (await File.ReadAllBytesAsync(outside)).Should().HaveCount(100, "the link's target is never touched");
    }

    [Fact]
    public async Task Drop_count_files_that_are_a_FIFO_or_links_to_endless_devices_neither_block_the_SDK_nor_grow_its_memory()
    {
        Directory.CreateDirectory(_directory);
        Directory.CreateDirectory(_outsideDirectory);
        var outside = Path.Combine(_outsideDirectory, "counts");
        File.WriteAllLines(outside, ["shutdown 9"]);
        MakeFifo(Path.Combine(_directory, "1" + DiskSpool.DropsExtension));
        File.CreateSymbolicLink(Path.Combine(_directory, "2" + DiskSpool.DropsExtension), "/dev/urandom");
        File.CreateSymbolicLink(Path.Combine(_directory, "3" + DiskSpool.DropsExtension), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(_directory, "4" + DiskSpool.DropsExtension), outside);
        File.WriteAllLines(Path.Combine(_directory, "5" + DiskSpool.DropsExtension), ["queue_full 5"]);

        var spool = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        var drops = await Task.Run(() => spool.TakeStoredDrops(SdkDrops.KnownNames)).Within();

        drops.Should().Equal(new Dictionary<string, long> { ["queue_full"] = 5 });
        Directory.GetFileSystemEntries(_directory).Should().BeEmpty("the FIFO and the links are deleted, unread");
        File.Exists(outside).Should().BeTrue("deleting a link never deletes its target");
    }

    [Fact]
    public async Task A_corrupt_file_counts_the_events_its_header_says_it_held()
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([.. Enumerable.Range(0, 7).Select(i => System.Text.Encoding.UTF8.GetBytes(new string('x', 100 + i)))]).Should().BeTrue();
        var file = SpoolFiles().Should().ContainSingle().Subject;
        var bytes = await File.ReadAllBytesAsync(file);
        await File.WriteAllBytesAsync(file, bytes[..(bytes.Length - 50)]);

        var drops = new SdkDrops();
        var reader = new DiskSpool(_directory, long.MaxValue, drops, _clock, _logs.CreateLogger("spool"));
        reader.TryTakeOldest().Should().BeNull();

        drops.Total(SdkDropReason.SendFailed).Should().Be(7);
        SpoolFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task A_file_larger_than_MaxCacheBytes_is_deleted_unread_so_memory_stays_bounded_and_the_good_ones_are_sent()
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([.. Enumerable.Range(0, 3).Select(i => System.Text.Encoding.UTF8.GetBytes($"event {i}"))]).Should().BeTrue();
        var good = SpoolFiles().Single();

        // A well-formed header naming a 256 MB payload (sparse on disk), older than the good file: a stray copy or a hostile file.
        const int HugeLength = 256 * 1024 * 1024;
        var header = (await File.ReadAllBytesAsync(good))[..48];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), HugeLength - 48);
        var huge = Path.Combine(_directory, "0000000000000000000-huge" + DiskSpool.Extension);
        await using (var file = new FileStream(huge, FileMode.CreateNew))
        {
            await file.WriteAsync(header);
            file.SetLength(HugeLength);
        }

        var drops = new SdkDrops();
        var reader = new DiskSpool(_directory, 64L * 1024 * 1024, drops, _clock, _logs.CreateLogger("spool"));
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        using var batch = reader.TryTakeOldest();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        allocated.Should().BeLessThan(16 * 1024 * 1024, "a file past MaxCacheBytes is not read into memory");
        batch!.Events.Select(e => System.Text.Encoding.UTF8.GetString(e)).Should().Equal("event 0", "event 1", "event 2");
        File.Exists(huge).Should().BeFalse();
        drops.Total(SdkDropReason.SpoolFull).Should().Be(3, "the header's count of events, as when the limit deletes a file");
        _logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("ErrorHub deleted the cached batch 0000000000000000000-huge.ehbatch without reading it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_newer_SDKs_files_are_left_alone_uncounted_and_logged_once_so_a_rollback_loses_nothing()
    {
        // A newer SDK's format starts with the same family of magic bytes and a later version: after a rollback this
        // SDK must not delete what the newer one (back after the roll-forward) can still send.
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([[1, 2, 3]]).Should().BeTrue();
        var bytes = await File.ReadAllBytesAsync(SpoolFiles().Single());
        File.Delete(SpoolFiles().Single());
        bytes[7] = (byte)'2';
        var newer = new[] { "0000000000000000001-newer", "0000000000000000002-newer" }.Select(n => Path.Combine(_directory, n + DiskSpool.Extension)).ToList();
        foreach (var path in newer)
        {
            await File.WriteAllBytesAsync(path, bytes);
        }

        await using var sdk = Start(_clock, o =>
        {
            Spooling(o);
            o.MaxCacheBytes = 64 * 1024;
        }, _logs);
        sdk.Client.CaptureMessage("after the rollback");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Messages().Should().Equal("after the rollback");
        SpoolFiles().Should().Equal(newer, "they are the newer SDK's to send");
        sdk.Client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Where(e => e.Message.Contains("a newer ErrorHub SDK wrote it", StringComparison.Ordinal)).Should().ContainSingle();
        _logs.Entries.Should().NotContain(e => e.Message.StartsWith("ErrorHub deleted", StringComparison.Ordinal));
    }

    [Fact]
    public void Past_MaxCacheBytes_a_newer_SDKs_files_are_neither_deleted_nor_counted_against_the_limit()
    {
        var drops = new SdkDrops();
        var spool = new DiskSpool(_directory, 64 * 1024, drops, _clock, _logs.CreateLogger("spool"));
        spool.TryStore([new byte[10_000]]).Should().BeTrue();
        var bytes = File.ReadAllBytes(SpoolFiles().Single());
        File.Delete(SpoolFiles().Single());
        bytes[7] = (byte)'3';
        var newer = Path.Combine(_directory, "0000000000000000001-newer" + DiskSpool.Extension);
        File.WriteAllBytes(newer, [.. bytes, .. new byte[100_000]]);

        spool.TryStore([new byte[10_000]]).Should().BeTrue();

        SpoolFiles().Should().HaveCount(2).And.Contain(newer);
        drops.Total().Should().Be(0, "this SDK's own file is within the limit; the newer one is not this SDK's to count");
    }

    [Fact]
    public async Task Past_MaxCacheBytes_the_oldest_batches_are_deleted_and_counted_as_spool_full()
    {
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "30"));
        await using var sdk = Start(_clock, o =>
        {
            Spooling(o);
            o.MaxCacheBytes = 64 * 1024;
            o.MaxBatchSize = 1;
        });
        var client = sdk.Client;

        for (var i = 0; i < 12; i++)
        {
            client.CaptureMessage($"{i:D2} " + new string('x', 8000));
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        SpoolFiles().Sum(f => new FileInfo(f).Length).Should().BeLessThanOrEqualTo(64 * 1024);
        var deleted = client.Sender!.Drops.Total(SdkDropReason.SpoolFull);
        deleted.Should().BeGreaterThan(0);

        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(30));
        _clock.Advance(TimeSpan.FromSeconds(30));
        client.CaptureMessage("99 back");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var delivered = _ingest.Requests.Skip(1).SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => ((string)e.AsMap()["message"]!)[..2]).ToList();
        delivered.Should().Equal(Enumerable.Range((int)deleted, 12 - (int)deleted).Select(i => $"{i:D2}").Append("99"), "the oldest went first");
        var report = Wire.Read(_ingest.Requests.ElementAt(1).Body).AsMap()["dropped"].AsMap();
        report["spool_full"].Should().Be(deleted);
    }

    [Fact]
    public async Task Two_SDKs_sharing_the_directory_send_each_spooled_batch_once()
    {
        _ingest.Answer(RecordingIngest.Status(503));
        await using (var filler = Start(_clock, o =>
        {
            Spooling(o);
            o.MaxBatchSize = 1;
        }))
        {
            for (var i = 0; i < 40; i++)
            {
                filler.Client.CaptureMessage($"shared {i}");
            }

            (await filler.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
            await StopWithoutMovingTheClockAsync(filler);
        }

        SpoolFiles().Should().HaveCount(40);
        var messagesBefore = Messages().Count;

        await using var one = Start(_clock, Spooling);
        await using var two = Start(_clock, Spooling);
        one.Client.CaptureMessage("marker one");
        two.Client.CaptureMessage("marker two");
        (await one.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        (await two.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var sent = Messages().Skip(messagesBefore).Where(m => m.StartsWith("shared", StringComparison.Ordinal)).ToList();
        sent.Should().OnlyHaveUniqueItems().And.HaveCount(40);
        SpoolFiles().Should().BeEmpty();
    }

    [Fact]
    public async Task Two_spools_racing_over_the_same_files_take_each_one_once()
    {
        // The lock on a batch file is taken just after the file is opened, not with it: a sender that opened a file
        // just before another sent and deleted it must not find it "free" and send it a second time.
        const int Files = 400;
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), TimeProvider.System, _logs.CreateLogger("spool"));
        for (var i = 0; i < Files; i++)
        {
            writer.TryStore([System.Text.Encoding.UTF8.GetBytes($"file {i}")]).Should().BeTrue();
        }

        var taken = new System.Collections.Concurrent.ConcurrentBag<string>();
        Task Drain() => Task.Run(() =>
        {
            var spool = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), TimeProvider.System, _logs.CreateLogger("spool"));
            while (spool.TryTakeOldest() is { } batch)
            {
                taken.Add(System.Text.Encoding.UTF8.GetString(batch.Events[0]));
                batch.Complete();
            }
        });

        await Task.WhenAll(Drain(), Drain(), Drain()).Within();

        taken.Should().OnlyHaveUniqueItems().And.HaveCount(Files);
        SpoolFiles().Should().BeEmpty();
    }

    /// <summary>
    /// Stops an SDK that has nothing left to wait for. The usual test disposal moves the clock past every wait, which
    /// would let this SDK retry its spool (and empty it) before the next SDK starts.
    /// </summary>
    private static Task StopWithoutMovingTheClockAsync(SdkUnderTest sdk) => sdk.Services.DisposeAsync().AsTask().Within();

    private void Spooling(ErrorHubOptions options) => SpoolingIn(_directory)(options);

    private Action<ErrorHubOptions> SpoolingIn(string directory) => options =>
    {
        options.Dsn = _ingest.Dsn();
        options.CacheDirectory = directory;
    };

    private List<string> SpoolFiles() =>
        Directory.Exists(_directory) ? Directory.GetFiles(_directory, "*" + DiskSpool.Extension).Order(StringComparer.Ordinal).ToList() : [];

    private static Dictionary<string, long> Dropped(RecordedRequest request)
    {
        var batch = Wire.Read(request.Body).AsMap();
        return batch.Keys.Contains("dropped")
            ? batch["dropped"].AsMap().Entries.ToDictionary(p => (string)p.Key, p => Convert.ToInt64(p.Value, System.Globalization.CultureInfo.InvariantCulture))
            : [];
    }

    private List<string> Messages() =>
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => (string)e.AsMap()["message"]!).ToList();

    /// <summary>
    /// Two stored batches, "swapped" then "good", and a reader that finds the first swapped by <paramref name="swap"/>
    /// (given the emptied path) between its check and its open, once.
    /// </summary>
    private (DiskSpool Reader, SdkDrops Drops, string Swapped) ABatchSwappedAfterItsCheckThenAGoodOne(Action<string> swap)
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([System.Text.Encoding.UTF8.GetBytes("swapped")]).Should().BeTrue();
        _clock.Advance(TimeSpan.FromSeconds(1));
        writer.TryStore([System.Text.Encoding.UTF8.GetBytes("good")]).Should().BeTrue();
        var swapped = SpoolFiles()[0];

        var drops = new SdkDrops();
        var reader = new DiskSpool(_directory, long.MaxValue, drops, _clock, _logs.CreateLogger("spool"));
        var swappedAlready = false;
        reader.AfterEntryCheckedForTests = path =>
        {
            if (path == swapped && !swappedAlready)
            {
                swappedAlready = true;
                File.Delete(path);
                swap(path);
            }
        };
        return (reader, drops, swapped);
    }

    /// <summary>
    /// Two stored batches, the first one that nobody but its owner (root) may read, the second one anyone may, in a
    /// directory of <paramref name="directoryMode"/>; and a reader of them.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private (string Unreadable, DiskSpool Reader, SdkDrops Drops) AnUnreadableBatchThenAGoodOne(UnixFileMode directoryMode)
    {
        var writer = new DiskSpool(_directory, long.MaxValue, new SdkDrops(), _clock, _logs.CreateLogger("spool"));
        writer.TryStore([System.Text.Encoding.UTF8.GetBytes("unreadable")]).Should().BeTrue();
        _clock.Advance(TimeSpan.FromSeconds(1));
        writer.TryStore([System.Text.Encoding.UTF8.GetBytes("good")]).Should().BeTrue();
        var unreadable = SpoolFiles()[0];
        File.SetUnixFileMode(unreadable, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(SpoolFiles()[1], UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(_directory, directoryMode);

        var drops = new SdkDrops();
        return (unreadable, new DiskSpool(_directory, long.MaxValue, drops, _clock, _logs.CreateLogger("spool")), drops);
    }

    private const int Nobody = 65534;

    private const UnixFileMode AnyoneMayAddAndDelete = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Runs <paramref name="read"/> on a thread of its own whose file-system user is nobody: the tests run as root, who
    /// reads and deletes any file. setfsuid changes the calling thread only, and with it drops the thread's power to
    /// override file permissions; the thread ends with <paramref name="read"/>.
    /// </summary>
    private static Task<T> AsNobodyAsync<T>(Func<T> read)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                _ = NativeMethods.SetFileSystemUserId(Nobody);
                NativeMethods.SetFileSystemUserId(-1).Should().Be(Nobody, "the tests run as root on Linux, which may change a thread's file-system user");
                done.SetResult(read());
            }
            catch (Exception exception)
            {
                done.SetException(exception);
            }
            finally
            {
                _ = NativeMethods.SetFileSystemUserId(0);
            }
        });
        thread.Start();
        return done.Task;
    }

    private static class NativeMethods
    {
        /// <summary>setfsuid(2): returns the thread's file-system user id before the call; -1 changes nothing.</summary>
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setfsuid")]
        [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
        public static extern int SetFileSystemUserId(int userId);
    }

    private static void MakeFifo(string path)
    {
        using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        mkfifo.ExitCode.Should().Be(0);
    }

    /// <summary>
    /// Waits for <paramref name="task"/>; when it is still running after the usual bound, it is stuck opening the FIFO
    /// at <paramref name="fifo"/>: a writer lets it go on (so the test host keeps no stuck thread) and the test fails.
    /// </summary>
    private static async Task ReleaseIfStuckOnFifoAsync(Task task, string fifo)
    {
        if (await Task.WhenAny(task, Task.Delay(TestGuard.Timeout)) == task)
        {
            return;
        }

        await using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
        {
        }

        throw new TimeoutException("The spool waited on a FIFO swapped in after its check; a writer let it go.");
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
