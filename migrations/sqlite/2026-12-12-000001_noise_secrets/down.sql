DROP TABLE noise_secrets;
