namespace Worker.Messaging;

/// <summary>
/// <c>ConnectionStrings:RabbitMq</c> as an amqp(s) URI with its credentials, e.g. <c>amqp://guest:guest@localhost:5672/</c>;
/// a URI without a user name and password is refused rather than read as guest/guest.
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

        // RabbitMQ clients fall back to guest/guest: a production URI that lost its credentials would otherwise log in
        // as guest wherever that user exists. Development brokers name it: amqp://guest:guest@localhost:5672/.
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length == 0)
        {
            throw new ConfigurationException($"{key} has no user name and password: write them in the URI, e.g. amqp://user:password@host:5672/vhost " +
                "(amqp://guest:guest@localhost:5672/ for a local development broker)");
        }

        if (userInfo.Length < 2 || userInfo[1].Length == 0)
        {
            throw new ConfigurationException($"{key} has a user name but no password: write amqp://user:password@host:5672/vhost " +
                "(percent-encode ':', '@' and '/' in the password)");
        }

        var tls = uri.Scheme == "amqps";
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return new RabbitMqAddress(
            uri.Host,
            (ushort)(uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 5671 : 5672) : uri.Port),
            vhost.Length == 0 ? "/" : vhost,
            Uri.UnescapeDataString(userInfo[0]),
            Uri.UnescapeDataString(userInfo[1]),
            tls);
    }

    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{Username}@{Host}:{Port}/{(VirtualHost == "/" ? "" : VirtualHost)}";
}
