using System.Buffers;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// One LZ4 block made of blocks compressed apart: the payload JSON of an event whose exception chain an insert repeats is
/// compressed as its prefix, the chain's block compressed once per insert, and its suffix (docs/storage.md, "The payload
/// column"). An LZ4 block is a run of sequences, each a token, literals and a match (an offset back into what was
/// decoded before and a length); the last sequence has literals only. A block compressed apart refers only to its own
/// bytes, so its sequences stay valid after anything else decoded before it; only its last sequence (literals only) must
/// not end a block that goes on: its literals are carried into the next block's first sequence. What comes out is an
/// ordinary block, decoded in one call as before, the same JSON; LZ4's rules for a block's end (its last five bytes are
/// literals, its last match starts twelve bytes or more before its end) hold because the last block compressed apart
/// ends the whole and obeys them, and every earlier match lies further from the end than it did in its own block.
/// </summary>
internal static class Lz4Splice
{
    private const int LiteralNibbleMax = 15;
    private const int MatchNibbleMax = 15;

    /// <summary>Where a block's first literals, its middle and its last literals lie (<see cref="TryParse"/>).</summary>
    internal readonly record struct Layout(int FirstLiteralsStart, int FirstLiterals, int LastSequence, int LastLiteralsStart, int LastLiterals)
    {
        /// <summary>A block without any match: all of it literals, carried on whole.</summary>
        public bool LiteralsOnly => LastSequence == 0;
    }

    /// <summary>Reads where <paramref name="block"/>'s sequences begin and end; false for bytes that are not a block LZ4 wrote.</summary>
    public static bool TryParse(ReadOnlySpan<byte> block, out Layout layout)
    {
        layout = default;
        if (!TryReadLiterals(block, 0, out var firstLiterals, out var firstLiteralsStart))
        {
            return false;
        }

        var afterFirstLiterals = firstLiteralsStart + firstLiterals;
        if (afterFirstLiterals == block.Length)
        {
            layout = new Layout(firstLiteralsStart, firstLiterals, 0, 0, 0);
            return true;
        }

        if (!TryFindLastSequence(block, afterFirstLiterals, out var lastSequence) ||
            !TryReadLiterals(block, lastSequence, out var lastLiterals, out var lastLiteralsStart))
        {
            return false;
        }

        layout = new Layout(firstLiteralsStart, firstLiterals, lastSequence, lastLiteralsStart, lastLiterals);
        return true;
    }

    /// <summary>
    /// Appends <paramref name="block"/>'s sequences to <paramref name="output"/>: <paramref name="pending"/>'s literals (carried
    /// from the blocks before) go into its first sequence, and its own last literals are carried on in <paramref name="pending"/>.
    /// </summary>
    public static void Append(ReadOnlySpan<byte> block, in Layout layout, ArrayBufferWriter<byte> output, ArrayBufferWriter<byte> pending)
    {
        var firstLiterals = block.Slice(layout.FirstLiteralsStart, layout.FirstLiterals);
        if (layout.LiteralsOnly)
        {
            pending.Write(firstLiterals);
            return;
        }

        WriteLiteralsHead(output, pending.WrittenCount + firstLiterals.Length, block[0] & MatchNibbleMax);
        output.Write(pending.WrittenSpan);
        output.Write(firstLiterals);
        output.Write(block[(layout.FirstLiteralsStart + layout.FirstLiterals)..layout.LastSequence]);
        pending.ResetWrittenCount();
        pending.Write(block.Slice(layout.LastLiteralsStart, layout.LastLiterals));
    }

    /// <summary><see cref="TryParse"/>, then <see cref="Append"/>; false (nothing appended) for bytes that are not a block LZ4 wrote.</summary>
    public static bool TryAppend(ReadOnlySpan<byte> block, ArrayBufferWriter<byte> output, ArrayBufferWriter<byte> pending)
    {
        if (!TryParse(block, out var layout))
        {
            return false;
        }

        Append(block, layout, output, pending);
        return true;
    }

    /// <summary>Ends the block: the literals still carried, as its last sequence.</summary>
    public static void Finish(ArrayBufferWriter<byte> output, ArrayBufferWriter<byte> pending)
    {
        WriteLiteralsHead(output, pending.WrittenCount, 0);
        output.Write(pending.WrittenSpan);
        pending.ResetWrittenCount();
    }

    /// <summary>A token with <paramref name="literals"/> and the match nibble given, then the literal length's extra bytes.</summary>
    private static void WriteLiteralsHead(ArrayBufferWriter<byte> output, int literals, int matchNibble)
    {
        var extra = literals >= LiteralNibbleMax ? (literals - LiteralNibbleMax) / 255 + 1 : 0;
        var span = output.GetSpan(1 + extra);
        span[0] = (byte)((Math.Min(literals, LiteralNibbleMax) << 4) | matchNibble);
        if (extra > 0)
        {
            var rest = literals - LiteralNibbleMax;
            var i = 1;
            while (rest >= 255)
            {
                span[i++] = 255;
                rest -= 255;
            }

            span[i] = (byte)rest;
        }

        output.Advance(1 + extra);
    }

    /// <summary>The literals of the sequence whose token is at <paramref name="token"/>: how many, and where they start.</summary>
    private static bool TryReadLiterals(ReadOnlySpan<byte> block, int token, out int length, out int start)
    {
        length = 0;
        start = 0;
        if (token >= block.Length)
        {
            return false;
        }

        length = block[token] >> 4;
        var position = token + 1;
        if (length == LiteralNibbleMax)
        {
            byte next;
            do
            {
                if (position >= block.Length)
                {
                    return false;
                }

                next = block[position++];
                length += next;
            }
            while (next == 255);
        }

        start = position;
        return length <= block.Length - position;
    }

    /// <summary>
    /// Walks the sequences after the first one's literals (at <paramref name="position"/>: its match) to the last
    /// sequence, the one whose literals end the block.
    /// </summary>
    private static bool TryFindLastSequence(ReadOnlySpan<byte> block, int position, out int lastSequence)
    {
        lastSequence = 0;
        var token = 0;
        while (true)
        {
            // The match of the sequence at token: a two-byte offset, then the length's extra bytes.
            position += 2;
            if ((block[token] & MatchNibbleMax) == MatchNibbleMax)
            {
                byte next;
                do
                {
                    if (position >= block.Length)
                    {
                        return false;
                    }

                    next = block[position++];
                }
                while (next == 255);
            }

            if (position >= block.Length)
            {
                return false;
            }

            token = position;
            if (!TryReadLiterals(block, token, out var literals, out var literalsStart))
            {
                return false;
            }

            position = literalsStart + literals;
            if (position == block.Length)
            {
                lastSequence = token;
                return true;
            }
        }
    }
}
