using System.Buffers.Binary;
using System.IO.Hashing;
using ErrorHub.Ingestion.Journal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Journal;

/// <summary>
/// The journal's segment files on a real disk: preallocated with zeros to their size, read back after a crash up to the
/// zeros, a torn write before the zeros cut off, rotated at their size, the room counted in records' bytes, and segments
/// that grew with each append (earlier releases) still read.
/// </summary>
public sealed class JournalSegmentTests : IDisposable
{
    private const long SegmentBytes = 64 * 1024;
    private readonly string _directory = JournalTestKit.NewDirectory();
    private readonly List<string> _copies = [];

    public void Dispose()
    {
        IngestHost.DeleteDirectory(_directory);
        _copies.ForEach(IngestHost.DeleteDirectory);
    }

    [Fact]
    public void A_segment_is_written_within_its_preallocated_size_and_a_crash_leaves_every_record_readable_up_to_the_zeros()
    {
        var payloads = Enumerable.Range(1, 5).Select(i => Payload(i, 1000 + i)).ToArray();
        var files = JournalFiles.Open(_directory, SegmentBytes, out _);
        foreach (var payload in payloads)
        {
            files.Append([payload]);
        }

        var segment = JournalTestKit.Segments(_directory).Single();
        new FileInfo(segment).Length.Should().Be(SegmentBytes, "the segment's size is made durable once, before its first record");
        var recordBytes = payloads.Sum(p => JournalFiles.HeaderLength + p.Length);
        File.ReadAllBytes(segment).AsSpan(recordBytes).ContainsAnyExcept((byte)0).Should().BeFalse("after the records the segment holds its zeros");
        files.Bytes.Should().Be(recordBytes, "the journal's room is counted in the records it holds, not in its zeros");

        // A kill -9: the process ends with the files as they are (every record acknowledged was flushed to disk).
        var crashed = CopyOf(_directory);
        files.Dispose();
        using var reopened = JournalFiles.Open(crashed, SegmentBytes, out var scan);

        scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo(payloads, o => o.WithStrictOrdering());
        scan.Backlog.Select(r => r.Sequence).Should().Equal(1, 2, 3, 4, 5);
        scan.TornBytesTruncated.Should().Be(0, "zeros after the last record are not a torn write");
        scan.CorruptRegions.Should().Be(0);
        reopened.Bytes.Should().Be(recordBytes, "after a restart the room is counted as before it");
        reopened.LastSequence.Should().Be(5);
    }

    [Fact]
    public void A_torn_record_followed_by_zeros_is_cut_off_and_the_records_before_it_are_kept()
    {
        var kept = Enumerable.Range(1, 3).Select(i => Payload(i, 700)).ToArray();
        var torn = Payload(4, 900);
        using (var files = JournalFiles.Open(_directory, SegmentBytes, out _))
        {
            foreach (var payload in kept.Append(torn))
            {
                files.Append([payload]);
            }
        }

        // The last write's fsync never returned: only its first part reached the disk; its end is still the zeros.
        var segment = JournalTestKit.Segments(_directory).Single();
        var keptBytes = kept.Sum(p => JournalFiles.HeaderLength + p.Length);
        var reached = JournalFiles.HeaderLength + 300;
        using (var stream = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            stream.Position = keptBytes + reached;
            stream.Write(new byte[JournalFiles.HeaderLength + torn.Length - reached]);
        }

        using (var reopened = JournalFiles.Open(_directory, SegmentBytes, out var scan))
        {
            scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo(kept, o => o.WithStrictOrdering());
            scan.TornBytesTruncated.Should().Be(reached, "what is cut is the part of the torn record that reached the disk, not the zeros");
            scan.CorruptRegions.Should().Be(0, "a torn end is not damage: it was never acknowledged");
            reopened.Bytes.Should().Be(keptBytes);

            // Appends after the restart go to a new segment, numbered after the last record kept.
            reopened.Append([Payload(9, 500)]).Should().Be(4);
        }

        using (JournalFiles.Open(_directory, SegmentBytes, out var again))
        {
            again.Backlog.Select(r => r.Sequence).Should().Equal(1, 2, 3, 4);
            again.TornBytesTruncated.Should().Be(0, "the torn end was cut once");
        }
    }

    [Fact]
    public void A_segment_deleted_while_open_refuses_the_next_write_instead_of_acknowledging_it_and_the_one_after_goes_to_a_new_segment()
    {
        var files = JournalFiles.Open(_directory, SegmentBytes, out _);
        files.Append([Payload(1, 800)]).Should().Be(1);

        // Someone deletes the segment ingest is writing (by hand, a cleanup job): writes into the open file still succeed,
        // into a file no name leads to.
        File.Delete(JournalTestKit.Segments(_directory).Single());
        var lost = () => files.Append([Payload(2, 800)]);

        lost.Should().Throw<IOException>().WithMessage("*deleted while ingest wrote to it*", "a write no restart could replay is not acknowledged");
        files.Append([Payload(3, 800)]).Should().Be(2, "the refused write took no sequence number");

        var crashed = CopyOf(_directory);
        files.Dispose();
        using var reopened = JournalFiles.Open(crashed, SegmentBytes, out var scan);
        scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo([Payload(3, 800)], o => o.WithStrictOrdering(),
            "what was acknowledged after the loss is in a segment a restart finds");
    }

    [Fact]
    public void A_segment_is_rotated_at_its_size_without_splitting_a_write_and_a_write_larger_than_a_segment_grows_an_empty_one()
    {
        var payloads = Enumerable.Range(1, 20).Select(i => Payload(i, 9_000 + (i * 37))).ToArray();
        var large = Payload(21, (int)SegmentBytes * 2);
        using (var files = JournalFiles.Open(_directory, SegmentBytes, out _))
        {
            foreach (var pair in payloads.Chunk(2))
            {
                AppendOncePrepared(files, pair);
            }

            AppendOncePrepared(files, [large]);
            AppendOncePrepared(files, [Payload(22, 100)]);
            files.GrownSegments.Should().Be(0, "each segment was prepared before it was needed");
            files.Bytes.Should().Be(payloads.Append(large).Sum(p => JournalFiles.HeaderLength + p.Length) + JournalFiles.HeaderLength + 100);
        }

        var segments = JournalTestKit.Segments(_directory).Order(StringComparer.Ordinal).ToArray();
        segments.Length.Should().BeGreaterThan(4, "20 records of 9 KB do not fit in one segment of 64 KB");

        // Each segment starts at a write (two records: the number of its first one is even + 1) and keeps its size, but
        // the one the large record went in alone, which grew.
        var records = new List<(long Sequence, string Segment)>();
        using (JournalFiles.Open(_directory, SegmentBytes, out var scan))
        {
            scan.TornBytesTruncated.Should().Be(0);
            scan.CorruptRegions.Should().Be(0);
            scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo(payloads.Append(large).Append(Payload(22, 100)), o => o.WithStrictOrdering());
            records.AddRange(scan.Backlog.Select(r => (r.Sequence, r.SegmentPath)));
        }

        foreach (var segment in segments)
        {
            var first = long.Parse(Path.GetFileNameWithoutExtension(segment), System.Globalization.CultureInfo.InvariantCulture);
            records.Where(r => r.Segment == segment).Min(r => r.Sequence).Should().Be(first, "a segment is named after its first record");
            if (first <= 20)
            {
                (first % 2).Should().Be(1, "a write's records are never split between segments");
            }

            new FileInfo(segment).Length.Should().Be(first == 21 ? JournalFiles.HeaderLength + large.Length : SegmentBytes);
        }

        records.Single(r => r.Sequence == 22).Segment.Should().NotBe(records.Single(r => r.Sequence == 21).Segment, "a grown segment is full");
    }

    [Fact]
    public void The_room_is_counted_in_records_bytes_and_freed_as_the_store_takes_whole_segments()
    {
        using var files = JournalFiles.Open(_directory, SegmentBytes, out _);
        var payloads = Enumerable.Range(1, 16).Select(i => Payload(i, 12_000)).ToArray();
        foreach (var payload in payloads)
        {
            AppendOncePrepared(files, [payload]);
        }

        var record = JournalFiles.HeaderLength + 12_000;
        files.Bytes.Should().Be(16L * record);
        files.SegmentCount.Should().Be(4, "five records of 12 KB fit in a segment of 64 KB, the sixth starts the next");

        files.Commit(7); // the store has 1-7: the first segment (1-5) is wholly stored, the second (6-10) not
        files.Bytes.Should().Be(11L * record);
        files.SegmentCount.Should().Be(3);

        files.Commit(16); // everything, but the segment being written stays until it is closed
        files.Bytes.Should().Be(1L * record);
        files.SegmentCount.Should().Be(1);

        files.CloseAndDeleteFlushed();
        files.Bytes.Should().Be(0);
        Directory.GetFiles(_directory).Select(Path.GetFileName).Should().BeEquivalentTo([JournalFiles.LockFileName, JournalFiles.CheckpointFileName],
            "a journal with everything stored leaves no segment behind, nor the one prepared ahead");
    }

    [Fact]
    public void Segments_an_earlier_release_grew_with_each_append_are_read_with_their_torn_end_cut_and_new_records_follow_them()
    {
        // As an earlier release wrote them: records one after the other, the file as long as they are; the second segment's
        // last write torn (its end never reached the disk).
        var old = Enumerable.Range(1, 6).Select(i => Payload(i, 2_000)).ToArray();
        File.WriteAllBytes(Path.Combine(_directory, "0000000000000000001.seg"), [.. Record(1, old[0]), .. Record(2, old[1]), .. Record(3, old[2])]);
        byte[] second = [.. Record(4, old[3]), .. Record(5, old[4]), .. Record(6, old[5])];
        File.WriteAllBytes(Path.Combine(_directory, "0000000000000000004.seg"), second[..^500]);

        using (var files = JournalFiles.Open(_directory, SegmentBytes, out var scan))
        {
            scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo(old[..5], o => o.WithStrictOrdering());
            scan.TornBytesTruncated.Should().Be(JournalFiles.HeaderLength + 2_000 - 500);
            scan.CorruptRegions.Should().Be(0);
            files.Bytes.Should().Be(5L * (JournalFiles.HeaderLength + 2_000));
            files.Append([Payload(7, 100)]).Should().Be(6, "the torn record was never acknowledged: its number is used again");
        }

        new FileInfo(Path.Combine(_directory, "0000000000000000006.seg")).Length.Should().Be(SegmentBytes, "new segments are preallocated");
        using (JournalFiles.Open(_directory, SegmentBytes, out var again))
        {
            again.Backlog.Select(r => r.Sequence).Should().Equal(1, 2, 3, 4, 5, 6);
            again.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo([.. old[..5], Payload(7, 100)], o => o.WithStrictOrdering());
        }
    }

    [Fact]
    public void When_no_prepared_segment_is_ready_appends_go_on_in_a_segment_that_grows_and_every_record_is_read_back()
    {
        var payloads = Enumerable.Range(1, 12).Select(i => Payload(i, 15_000)).ToArray();
        using (var files = JournalFiles.Open(_directory, SegmentBytes, out _))
        {
            AppendOncePrepared(files, [payloads[0]]);
            AppendOncePrepared(files, [payloads[1]]);

            // The segment prepared ahead is lost, and none can be made again (its name is taken by a directory).
            File.Delete(Path.Combine(_directory, JournalFiles.PreparedFileName));
            Directory.CreateDirectory(Path.Combine(_directory, JournalFiles.PreparedFileName));
            foreach (var payload in payloads[2..])
            {
                AppendOncePrepared(files, [payload]);
            }

            files.GrownSegments.Should().BeGreaterThan(1);
            files.Bytes.Should().Be(12L * (JournalFiles.HeaderLength + 15_000));
        }

        using (JournalFiles.Open(_directory, SegmentBytes, out var scan))
        {
            scan.Backlog.Select(r => JournalFiles.ReadPayload(r)).Should().BeEquivalentTo(payloads, o => o.WithStrictOrdering());
            scan.TornBytesTruncated.Should().Be(0);
            scan.CorruptRegions.Should().Be(0);
        }
    }

    /// <summary>Appends once the segment prepared ahead is ready, so which segments are preallocated does not depend on timing.</summary>
    private static void AppendOncePrepared(JournalFiles files, byte[][] payloads)
    {
        files.NextSegmentPrepared.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue();
        files.Append(payloads);
    }

    /// <summary>A payload whose bytes say which it is (never zero: zeros are what a segment holds after its records).</summary>
    private static byte[] Payload(int which, int length)
    {
        var payload = new byte[length];
        new Random(which).NextBytes(payload);
        payload[0] = (byte)which;
        return payload;
    }

    /// <summary>A record as the format documents it, encoded here on its own: magic "EHJ1", length, sequence, CRC-32 of sequence and payload.</summary>
    private static byte[] Record(long sequence, byte[] payload)
    {
        var record = new byte[JournalFiles.HeaderLength + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, 0x314A_4845);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), sequence);
        payload.CopyTo(record, JournalFiles.HeaderLength);
        var crc = new Crc32();
        crc.Append(record.AsSpan(8, 8));
        crc.Append(payload);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(16), crc.GetCurrentHashAsUInt32());
        return record;
    }

    private string CopyOf(string directory)
    {
        var copy = JournalTestKit.NewDirectory();
        _copies.Add(copy);
        foreach (var file in Directory.GetFiles(directory, "*" + JournalFiles.SegmentExtension))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }
}
