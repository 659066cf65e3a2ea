using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using ErrorHub.Testing.Processes;
using MimeKit;
using Xunit;

namespace ErrorHub.Testing.Smtp;

/// <summary>
/// A real SMTP server on loopback for the e-mail tests: Debian's aiosmtpd as a child process, writing what
/// it accepts into a Maildir that the tests read back with MimeKit. Recipients named <c>transient-…@</c> are
/// refused with 451 and <c>permanent-…@</c> with 550, so both kinds of refusal can be tested, and <c>full-once-…@</c>
/// with 452 the first time only (a full mailbox that is emptied); a mail to a <c>drop-…@</c>
/// recipient has its connection cut after its data came in, with no answer (and is not kept); a mail to a
/// <c>hang-once-…@</c> recipient is, the first time, taken in whole and then never answered (nor kept): the server hangs
/// mid-DATA. It can be
/// stopped and started again on the same port (SMTP down, then up). A missing aiosmtpd fails the tests
/// (test.sh installs it): nothing is skipped silently.
/// </summary>
public sealed class SmtpServerFixture : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";

    private const string HandlerSource = """
        import asyncio
        from aiosmtpd.handlers import Mailbox

        class Handler(Mailbox):
            refused_once = set()
            hung_once = set()

            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.startswith("permanent-"):
                    return "550 5.1.1 No such mailbox here"
                if address.startswith("transient-"):
                    return "451 4.3.0 Try again later"
                if address.startswith("full-once-") and address not in Handler.refused_once:
                    Handler.refused_once.add(address)
                    return "452 4.2.2 Mailbox full, try again later"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if any(address.startswith("drop-") for address in envelope.rcpt_tos):
                    # The whole mail came in; the connection goes down before any answer, and the mail is not kept.
                    server.transport.abort()
                    return "421 4.4.2 Connection dropped"
                hanging = [a for a in envelope.rcpt_tos if a.startswith("hang-once-") and a not in Handler.hung_once]
                if hanging:
                    # The whole mail came in; no answer comes for longer than any client waits, and the mail is not kept.
                    Handler.hung_once.update(hanging)
                    await asyncio.sleep(120)
                    return "451 4.3.0 Too late"
                return await super().handle_DATA(server, session, envelope)
        """;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-smtp-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    public int Port { get; } = FreePort.Next();

    /// <summary>Null: plain SMTP. Otherwise TLS with this certificate: required by STARTTLS before any mail, or from the first byte.</summary>
    public SmtpServerTls? Tls { get; init; }

    public string Maildir => Path.Combine(_directory, "maildir");

    public bool IsRunning => _process is { HasExited: false };

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "errorhub_smtp.py"), HandlerSource);
        return StartAsync();
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] tls = Tls switch
        {
            null => [],
            { Implicit: true } => ["--smtpscert", Tls.Certificate.CertificatePath, "--smtpskey", Tls.Certificate.KeyPath],
            _ => ["--tlscert", Tls.Certificate.CertificatePath, "--tlskey", Tls.Certificate.KeyPath],
        };
        string[] arguments = ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", .. tls, "-c", "errorhub_smtp.Handler", Maildir];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PYTHONPATH"] = _directory;
        _process = Process.Start(start) ?? throw new InvalidOperationException("aiosmtpd did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"aiosmtpd exited with {_process.ExitCode}: is python3-aiosmtpd installed (test.sh installs it)?");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                Stream stream = client.GetStream();
                if (Tls is { Implicit: true })
                {
                    // Only "is it up?": the certificate must be the one the test made, whoever it is issued by.
                    var expected = Tls.Certificate.Sha256Thumbprint;
                    var tlsStream = new SslStream(stream, leaveInnerStreamOpen: false, (_, presented, _, _) =>
                        presented?.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) == expected);
                    await tlsStream.AuthenticateAsClientAsync("localhost");
                    stream = tlsStream;
                }

                using var reader = new StreamReader(stream);
                var greeting = await reader.ReadLineAsync();
                if (greeting?.StartsWith("220", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"aiosmtpd did not answer on port {Port} within 30 s.");
    }

    /// <summary>Stops the server: connections to <see cref="Port"/> are refused until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _process = null;
    }

    /// <summary>Every mail accepted so far, oldest first (by file time), parsed by MimeKit.</summary>
    public IReadOnlyList<MimeMessage> Messages()
    {
        var files = new[] { "new", "cur" }
            .Select(folder => Path.Combine(Maildir, folder))
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .OrderBy(File.GetLastWriteTimeUtc)
            .ThenBy(f => f, StringComparer.Ordinal);
        return files.Select(f => MimeMessage.Load(f)).ToList();
    }

    /// <summary>The mails to <paramref name="address"/> once there are at least <paramref name="count"/> (polling; the token bounds the wait).</summary>
    public async Task<IReadOnlyList<MimeMessage>> MessagesToAsync(string address, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            var mails = Messages().Where(m => EnvelopeRecipients(m).Contains(address)).ToList();
            if (mails.Count >= count)
            {
                return mails;
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Forgets the mail received so far.</summary>
    public void Clear()
    {
        foreach (var folder in new[] { "new", "cur" })
        {
            var path = Path.Combine(Maildir, folder);
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path))
                {
                    File.Delete(file);
                }
            }
        }
    }

    /// <summary>The envelope recipients aiosmtpd saw for <paramref name="message"/> (its X-RcptTo header).</summary>
    public static IReadOnlyList<string> EnvelopeRecipients(MimeMessage message) =>
        (message.Headers["X-RcptTo"] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <param name="Implicit">TLS from the first byte (SMTPS, port 465 style); otherwise STARTTLS, required before any mail.</param>
public sealed record SmtpServerTls(TestCertificate Certificate, bool Implicit);
