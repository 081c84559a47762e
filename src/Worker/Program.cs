using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Hosting;

try
{
    var app = WorkerApp.Build(args);
    // Validate every options section before anything connects, so bad configuration is reported once, plainly.
    app.Services.GetService<IStartupValidator>()?.Validate();
    // The worker never migrates; it refuses a database whose audit schema is older than this build (ops/migrate.sh).
    await AuditSchema.EnsureCurrentAsync(app.Services.GetRequiredService<NpgsqlDataSource>());
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (ConfigurationProblems(e) is { Count: > 0 } problems)
{
    Console.Error.WriteLine("The worker cannot start; fix the configuration:");
    foreach (var problem in problems)
    {
        Console.Error.WriteLine($"  - {problem}");
    }

    return 2;
}

static List<string> ConfigurationProblems(Exception e) => e switch
{
    OptionsValidationException v => [.. v.Failures],
    ConfigurationException c => [c.Message],
    AggregateException a when a.InnerExceptions.All(i => i is OptionsValidationException or ConfigurationException) =>
        [.. a.InnerExceptions.SelectMany(ConfigurationProblems)],
    _ => [],
};
