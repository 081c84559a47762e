using Worker.Hosting;

namespace Worker.Messaging;

/// <summary>
/// <c>ConnectionStrings:RabbitMq</c> as an amqp(s) URI, e.g. <c>amqp://guest:guest@localhost:5672/</c>.
/// <see cref="ToString"/> leaves the password out, so the address is safe to log.
/// </summary>
public sealed record RabbitMqAddress(string Host, ushort Port, string VirtualHost, string Username, string Password, bool UseTls)
{
    public static RabbitMqAddress Parse(string? connectionString)
    {
        const string key = "ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq)";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ConfigurationException($"{key} is required, e.g. amqp://guest:guest@localhost:5672/");
        }

        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            // Never echo the value: it may hold a password.
            throw new ConfigurationException($"{key} must be an amqp:// or amqps:// URI, e.g. amqp://guest:guest@localhost:5672/");
        }

        var tls = uri.Scheme == "amqps";
        var userInfo = uri.UserInfo.Split(':', 2);
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return new RabbitMqAddress(
            uri.Host,
            (ushort)(uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 5671 : 5672) : uri.Port),
            vhost.Length == 0 ? "/" : vhost,
            userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : "guest",
            userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "guest",
            tls);
    }

    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{Username}@{Host}:{Port}/{(VirtualHost == "/" ? "" : VirtualHost)}";
}
