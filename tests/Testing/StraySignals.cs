using System.Runtime.InteropServices;

namespace ThinkWatch.Testing;

/// <summary>
/// Says on the test host's own standard error when a terminating signal reaches it, then lets the
/// signal take its course: a host ended by a stray SIGTERM would otherwise be reported only as
/// "Test host process crashed", with nothing to tell it from a crash (SIGKILL cannot be seen).
/// </summary>
internal static class StraySignals
{
    private static readonly PosixSignalRegistration[] Registrations = Register();

    /// <summary>Registers once per test host (the first call); later calls do nothing.</summary>
    public static void Watch() => GC.KeepAlive(Registrations);

    private static PosixSignalRegistration[] Register()
    {
        var stderr = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
        return [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP }.Select(signal =>
            PosixSignalRegistration.Create(signal, _ => stderr.WriteLine($"test host {Environment.ProcessId} received {signal} at {DateTime.UtcNow:HH:mm:ss.fff}")))];
    }
}
