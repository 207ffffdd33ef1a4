using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;

namespace ThinkWatch.Integrations;

/// <summary>What a full spool does with one more record.</summary>
public enum SpoolFullPolicy
{
    /// <summary>Refuse the new record (the oldest, still undelivered, are kept).</summary>
    DropNewest,
    /// <summary>Discard the oldest undelivered records to make room.</summary>
    DropOldest,
}

/// <summary>Where a reader is: segment number and byte offset in it.</summary>
public readonly record struct SpoolPosition(long Segment, long Offset) : IComparable<SpoolPosition>
{
    public int CompareTo(SpoolPosition other) => Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);
}

/// <summary>Records read from the spool, and the position to acknowledge once they are delivered.</summary>
public sealed record SpoolBatch(IReadOnlyList<byte[]> Records, SpoolPosition Next);

/// <summary>
/// A bounded, durable, ordered queue of records on local disk: append-only segment files of
/// [length][CRC-32][payload] records and a checkpoint of what has been delivered. Every append is
/// written through to the operating system before it returns, so a crashed or restarted process
/// loses nothing (a power cut can lose what the OS had not yet written; segments are fsynced when
/// they fill up). Reading hands out records in order without removing them; only
/// <see cref="Acknowledge"/> does, so a failed delivery is simply read again. On open, a torn
/// record at the end (a crash mid-write) is cut off.
/// </summary>
public sealed partial class DiskSpool : IDisposable
{
    private const int HeaderBytes = 8;
    private const string Checkpoint = "checkpoint";
    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly SpoolFullPolicy _policy;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _appended = new(0);
    private readonly FileStream _lock;
    private FileStream _writer = null!;
    private long _writeSegment;
    private SpoolPosition _read;
    private SpoolPosition _acknowledged;
    private long _bytes;
    private long _count;
    private long _dropped;

    public DiskSpool(string directory, long maxBytes, long segmentBytes, SpoolFullPolicy policy, ILogger logger)
    {
        (_directory, _maxBytes, _segmentBytes, _policy, _logger) = (directory, maxBytes, Math.Min(segmentBytes, maxBytes), policy, logger);
        Directory.CreateDirectory(directory);
        try
        {
            // One process per spool: two writers would interleave records.
            _lock = new FileStream(Path.Combine(directory, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"The spool folder {directory} is in use by another process; give each instance its own.", ex);
        }
        Recover();
    }

    /// <summary>Records appended and not yet acknowledged.</summary>
    public long Depth { get { lock (_gate) { return _count; } } }

    /// <summary>Bytes on disk not yet acknowledged.</summary>
    public long Bytes { get { lock (_gate) { return _bytes; } } }

    /// <summary>Records lost to the full policy since this instance opened.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Appends a record; false when the spool is full and the policy refused it.</summary>
    public bool TryAppend(ReadOnlySpan<byte> payload)
    {
        var size = HeaderBytes + payload.Length;
        lock (_gate)
        {
            if (_bytes + size > _maxBytes)
            {
                if (_policy == SpoolFullPolicy.DropNewest || size > _maxBytes)
                {
                    Interlocked.Increment(ref _dropped);
                    return false;
                }
                while (_bytes + size > _maxBytes && _count > 0)
                {
                    DropOldestRecord();
                }
            }
            if (_writer.Length + size > _segmentBytes && _writer.Length > 0)
            {
                _writer.Flush(flushToDisk: true);
                _writer.Dispose();
                _writer = OpenSegment(++_writeSegment);
            }
            Span<byte> header = stackalloc byte[HeaderBytes];
            BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(payload));
            _writer.Write(header);
            _writer.Write(payload);
            _writer.Flush();
            _bytes += size;
            _count++;
        }
        _appended.Release();
        return true;
    }

    /// <summary>Up to <paramref name="max"/> records after the last batch handed out, waiting up to <paramref name="wait"/> for the first.</summary>
    public async Task<SpoolBatch> ReadAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (ReadBatch(max) is { Records.Count: > 0 } ready)
        {
            return ready;
        }
        await _appended.WaitAsync(wait, cancellationToken);
        return ReadBatch(max);
    }

    /// <summary>Everything before <paramref name="next"/> was delivered: forget it (the checkpoint is written, used segments deleted).</summary>
    public void Acknowledge(SpoolPosition next)
    {
        lock (_gate)
        {
            while (_acknowledged.CompareTo(next) < 0 && _count > 0)
            {
                ForgetOldest();
            }
            SaveCheckpoint();
        }
    }

    /// <summary>Hands out the next records again from the last acknowledged one (after a failed delivery).</summary>
    public void Rewind()
    {
        lock (_gate)
        {
            _read = _acknowledged;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Flush(flushToDisk: true);
            _writer.Dispose();
            _lock.Dispose();
        }
    }

    private SpoolBatch ReadBatch(int max)
    {
        lock (_gate)
        {
            var records = new List<byte[]>();
            Span<byte> header = stackalloc byte[HeaderBytes];
            if (_read.CompareTo(_acknowledged) < 0)
            {
                _read = _acknowledged;
            }
            while (records.Count < max && (_read = Normalize(_read)).CompareTo(End) < 0)
            {
                using var file = File.OpenRead(SegmentPath(_read.Segment));
                file.Position = _read.Offset;
                file.ReadExactly(header);
                var payload = new byte[BinaryPrimitives.ReadInt32LittleEndian(header)];
                file.ReadExactly(payload);
                records.Add(payload);
                _read = new SpoolPosition(_read.Segment, _read.Offset + HeaderBytes + payload.Length);
            }
            return new SpoolBatch(records, _read);
        }
    }

    private SpoolPosition End => new(_writeSegment, _writer.Length);

    /// <summary>A position at the end of a finished segment is the start of the next one (the finished one is deleted once acknowledged past).</summary>
    private SpoolPosition Normalize(SpoolPosition at, bool acknowledged = false)
    {
        while (at.Segment < _writeSegment && (!File.Exists(SegmentPath(at.Segment)) || at.Offset >= new FileInfo(SegmentPath(at.Segment)).Length))
        {
            if (acknowledged)
            {
                File.Delete(SegmentPath(at.Segment));
            }
            at = new SpoolPosition(at.Segment + 1, 0);
        }
        return at;
    }

    private int RecordLength(SpoolPosition at)
    {
        using var file = File.OpenRead(SegmentPath(at.Segment));
        file.Position = at.Offset;
        Span<byte> header = stackalloc byte[4];
        file.ReadExactly(header);
        return BinaryPrimitives.ReadInt32LittleEndian(header);
    }

    private void DropOldestRecord()
    {
        ForgetOldest();
        if (_read.CompareTo(_acknowledged) < 0)
        {
            _read = _acknowledged;
        }
        Interlocked.Increment(ref _dropped);
        SaveCheckpoint();
    }

    /// <summary>Moves the checkpoint past the oldest record (deleting a segment it leaves behind).</summary>
    private void ForgetOldest()
    {
        _acknowledged = Normalize(_acknowledged, acknowledged: true);
        var length = RecordLength(_acknowledged);
        _acknowledged = Normalize(new SpoolPosition(_acknowledged.Segment, _acknowledged.Offset + HeaderBytes + length), acknowledged: true);
        _bytes -= HeaderBytes + length;
        _count--;
    }

    private void SaveCheckpoint()
    {
        var temp = Path.Combine(_directory, Checkpoint + ".tmp");
        File.WriteAllText(temp, $"{_acknowledged.Segment} {_acknowledged.Offset}");
        File.Move(temp, Path.Combine(_directory, Checkpoint), overwrite: true);
    }

    /// <summary>Finds the checkpoint, deletes delivered segments, cuts a torn tail, and counts what is left.</summary>
    private void Recover()
    {
        var segments = Directory.GetFiles(_directory, "*.seg").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture))
            .Order().ToList();
        var checkpoint = Path.Combine(_directory, Checkpoint);
        _acknowledged = File.Exists(checkpoint) && File.ReadAllText(checkpoint).Split(' ') is [var s, var o]
            ? new SpoolPosition(long.Parse(s, System.Globalization.CultureInfo.InvariantCulture), long.Parse(o, System.Globalization.CultureInfo.InvariantCulture))
            : new SpoolPosition(segments.FirstOrDefault(), 0);
        foreach (var done in segments.Where(s => s < _acknowledged.Segment))
        {
            File.Delete(SegmentPath(done));
        }
        segments.RemoveAll(s => s < _acknowledged.Segment);
        if (segments.Count == 0)
        {
            segments.Add(_acknowledged.Segment);
            _acknowledged = new SpoolPosition(_acknowledged.Segment, 0);
        }
        Span<byte> header = stackalloc byte[HeaderBytes];
        foreach (var segment in segments)
        {
            using var file = new FileStream(SegmentPath(segment), FileMode.OpenOrCreate, FileAccess.ReadWrite);
            var offset = segment == _acknowledged.Segment ? _acknowledged.Offset : 0;
            var valid = offset;
            while (valid + HeaderBytes <= file.Length)
            {
                file.Position = valid;
                file.ReadExactly(header);
                var length = BinaryPrimitives.ReadInt32LittleEndian(header);
                if (length < 0 || valid + HeaderBytes + length > file.Length)
                {
                    break;
                }
                var payload = new byte[length];
                file.ReadExactly(payload);
                if (Crc32.HashToUInt32(payload) != BinaryPrimitives.ReadUInt32LittleEndian(header[4..]))
                {
                    break;
                }
                valid += HeaderBytes + length;
                _bytes += HeaderBytes + length;
                _count++;
            }
            if (valid < file.Length)
            {
                LogTornTail(_logger, SegmentPath(segment), file.Length - valid);
                file.SetLength(valid);
            }
        }
        _writeSegment = segments[^1];
        _writer = OpenSegment(_writeSegment);
        _read = _acknowledged;
    }

    private FileStream OpenSegment(long segment) => new(SegmentPath(segment), FileMode.Append, FileAccess.Write, FileShare.Read);

    private string SegmentPath(long segment) => Path.Combine(_directory, $"{segment:D12}.seg");

    [LoggerMessage(EventId = 1030, Level = LogLevel.Warning, Message = "Spool segment {Segment} ended in an incomplete record ({Bytes} bytes, a crash mid-write); cut off")]
    private static partial void LogTornTail(ILogger logger, string segment, long bytes);
}
