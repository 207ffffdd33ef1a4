using ThinkWatch.AppHost;

return await AppModel.Create(args).Build().RunAsync();
