using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ThinkWatch.Integrations;

namespace ThinkWatch.Shared.Tests;

/// <summary>The durable spool on a real disk: order, acknowledgement, restarts, torn writes, full policies.</summary>
[TestFixture]
public sealed class DiskSpoolTests
{
    private string _directory = null!;

    [SetUp]
    public void NewFolder() => _directory = Path.Combine(Path.GetTempPath(), "thinkwatch-spool-tests", Guid.NewGuid().ToString("N"));

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private DiskSpool Open(long maxBytes = 1 << 20, long segmentBytes = 256, SpoolFullPolicy policy = SpoolFullPolicy.DropNewest) =>
        new(_directory, maxBytes, segmentBytes, policy, NullLogger.Instance);

    private static byte[] Record(int i) => Encoding.UTF8.GetBytes($"event-{i:D4}");

    private static async Task<List<string>> ReadAllAsync(DiskSpool spool, bool acknowledge = true)
    {
        var all = new List<string>();
        while (true)
        {
            var batch = await spool.ReadAsync(7, TimeSpan.Zero, CancellationToken.None);
            if (batch.Records.Count == 0)
            {
                return all;
            }
            all.AddRange(batch.Records.Select(r => Encoding.UTF8.GetString(r)));
            if (acknowledge)
            {
                spool.Acknowledge(batch.Next);
            }
        }
    }

    [Test]
    public async Task Records_come_out_in_order_across_segments_and_delivered_segments_are_deleted()
    {
        using var spool = Open();
        for (var i = 0; i < 100; i++)
        {
            Assert.That(spool.TryAppend(Record(i)), Is.True);
        }
        Assert.That(Directory.GetFiles(_directory, "*.seg"), Has.Length.GreaterThan(5), "256-byte segments");

        var read = await ReadAllAsync(spool);

        Assert.That(read, Is.EqualTo(Enumerable.Range(0, 100).Select(i => $"event-{i:D4}")));
        Assert.That((spool.Depth, spool.Bytes), Is.EqualTo((0L, 0L)));
        Assert.That(Directory.GetFiles(_directory, "*.seg"), Has.Length.EqualTo(1), "only the segment being written remains");
    }

    [Test]
    public async Task What_was_not_acknowledged_survives_a_restart_and_comes_out_again_in_order()
    {
        using (var spool = Open())
        {
            for (var i = 0; i < 100; i++)
            {
                spool.TryAppend(Record(i));
            }
            var first = await spool.ReadAsync(30, TimeSpan.Zero, CancellationToken.None);
            spool.Acknowledge(first.Next);
            // Handed out but never acknowledged (the process dies while publishing them).
            await spool.ReadAsync(20, TimeSpan.Zero, CancellationToken.None);
        }

        using var reopened = Open();
        Assert.That(reopened.Depth, Is.EqualTo(70));
        reopened.TryAppend(Record(100));
        Assert.That(await ReadAllAsync(reopened), Is.EqualTo(Enumerable.Range(30, 71).Select(i => $"event-{i:D4}")));
    }

    [Test]
    public async Task Rewind_hands_out_an_unacknowledged_batch_again()
    {
        using var spool = Open();
        for (var i = 0; i < 5; i++)
        {
            spool.TryAppend(Record(i));
        }
        var failed = await spool.ReadAsync(3, TimeSpan.Zero, CancellationToken.None);

        spool.Rewind();

        var again = await spool.ReadAsync(3, TimeSpan.Zero, CancellationToken.None);
        Assert.That(again.Records.Select(r => Encoding.UTF8.GetString(r)), Is.EqualTo(failed.Records.Select(r => Encoding.UTF8.GetString(r))));
    }

    [Test]
    public async Task A_record_torn_by_a_crash_mid_write_is_cut_off_on_open()
    {
        using (var spool = Open(segmentBytes: 1 << 20))
        {
            for (var i = 0; i < 10; i++)
            {
                spool.TryAppend(Record(i));
            }
        }
        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        var intact = new FileInfo(segment).Length;
        await File.AppendAllTextAsync(segment, "\u0040\u0000\u0000\u0000half a rec");

        using var reopened = Open(segmentBytes: 1 << 20);

        Assert.That(new FileInfo(segment).Length, Is.EqualTo(intact));
        reopened.TryAppend(Record(10));
        Assert.That(await ReadAllAsync(reopened), Is.EqualTo(Enumerable.Range(0, 11).Select(i => $"event-{i:D4}")));
    }

    [Test]
    public async Task A_full_spool_refuses_new_records_or_drops_the_oldest_as_configured()
    {
        var size = 8 + Record(0).Length;
        using (var spool = Open(maxBytes: size * 10, segmentBytes: size * 4))
        {
            var accepted = Enumerable.Range(0, 15).Count(i => spool.TryAppend(Record(i)));
            Assert.That((accepted, spool.Dropped), Is.EqualTo((10, 5L)));
            Assert.That(await ReadAllAsync(spool), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"event-{i:D4}")), "the oldest are kept");
        }
        RemoveFolder();

        using var dropOldest = Open(maxBytes: size * 10, segmentBytes: size * 4, policy: SpoolFullPolicy.DropOldest);
        for (var i = 0; i < 15; i++)
        {
            Assert.That(dropOldest.TryAppend(Record(i)), Is.True);
        }
        Assert.That(dropOldest.Dropped, Is.EqualTo(5));
        Assert.That(await ReadAllAsync(dropOldest), Is.EqualTo(Enumerable.Range(5, 10).Select(i => $"event-{i:D4}")), "the newest are kept, in order");
    }

    [Test]
    public void Two_processes_cannot_share_a_spool()
    {
        using var spool = Open();
        var ex = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.That(ex!.Message, Does.Contain("in use"));
    }
}
