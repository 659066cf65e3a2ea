using System.Net;
using System.Net.Sockets;

namespace ErrorHub.Testing.Processes;

/// <summary>Loopback ports for servers started by tests; other servers may run on the machine.</summary>
public static class FreePort
{
    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago. The operating system hands out ephemeral
    /// ports in rotation, so the same port is not offered again right away.
    /// </summary>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    public static Uri NextHttpUrl() => new($"http://127.0.0.1:{Next()}");
}
