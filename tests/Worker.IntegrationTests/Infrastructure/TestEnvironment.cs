namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Where the real services are: chosen once per run by <see cref="TestServices"/> (containers where a Docker engine
/// answers, else what ops/test.sh starts and exports: a database and a RabbitMQ virtual host of the tests' own, so a
/// demo worker never takes their messages).
/// </summary>
public static class TestEnvironment
{
    public static string RabbitMq => TestServices.RabbitMq;

    public static string Postgres => TestServices.Postgres;

    /// <summary>Upper bound on waiting for one result; generous, because CI machines are slow and shared.</summary>
    public static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(60);
}
