/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.18-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: appdb
-- ------------------------------------------------------
-- Server version	10.11.18-MariaDB-0+deb12u1

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Current Database: `appdb`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `appdb` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */;

USE `appdb`;

--
-- Table structure for table `empty_t`
--

DROP TABLE IF EXISTS `empty_t`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `empty_t` (
  `z` int(11) DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `empty_t`
--

LOCK TABLES `empty_t` WRITE;
/*!40000 ALTER TABLE `empty_t` DISABLE KEYS */;
/*!40000 ALTER TABLE `empty_t` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `items`
--

DROP TABLE IF EXISTS `items`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `items` (
  `id` int(11) NOT NULL,
  `name` text DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `items`
--

LOCK TABLES `items` WRITE;
/*!40000 ALTER TABLE `items` DISABLE KEYS */;
INSERT INTO `items` VALUES
(1,'one'),
(2,'two\nlines, (and) parentheses'),
(3,'quote \' and \\ backslash');
/*!40000 ALTER TABLE `items` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb3 */ ;
/*!50003 SET character_set_results = utf8mb3 */ ;
/*!50003 SET collation_connection  = utf8mb3_general_ci */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER items_trim BEFORE INSERT ON items FOR EACH ROW SET NEW.name = TRIM(NEW.name) 
*/;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Temporary table structure for view `items_named`
--

DROP TABLE IF EXISTS `items_named`;
/*!50001 DROP VIEW IF EXISTS `items_named`*/;
SET @saved_cs_client     = @@character_set_client;
SET character_set_client = utf8mb4;
/*!50001 CREATE VIEW `items_named` AS SELECT
 NULL AS `id`,
 NULL AS `name` */;
SET character_set_client = @saved_cs_client;

--
-- Table structure for table `many`
--

DROP TABLE IF EXISTS `many`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `many` (
  `id` int(11) NOT NULL,
  `label` varchar(100) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `many`
--

LOCK TABLES `many` WRITE;
/*!40000 ALTER TABLE `many` DISABLE KEYS */;
INSERT INTO `many` VALUES
(1,'row 1 of many'),
(2,'row 2 of many'),
(3,'row 3 of many'),
(4,'row 4 of many'),
(5,'row 5 of many'),
(6,'row 6 of many'),
(7,'row 7 of many'),
(8,'row 8 of many'),
(9,'row 9 of many'),
(10,'row 10 of many'),
(11,'row 11 of many'),
(12,'row 12 of many'),
(13,'row 13 of many'),
(14,'row 14 of many'),
(15,'row 15 of many'),
(16,'row 16 of many'),
(17,'row 17 of many'),
(18,'row 18 of many'),
(19,'row 19 of many'),
(20,'row 20 of many'),
(21,'row 21 of many'),
(22,'row 22 of many'),
(23,'row 23 of many'),
(24,'row 24 of many'),
(25,'row 25 of many'),
(26,'row 26 of many'),
(27,'row 27 of many'),
(28,'row 28 of many'),
(29,'row 29 of many'),
(30,'row 30 of many'),
(31,'row 31 of many'),
(32,'row 32 of many'),
(33,'row 33 of many'),
(34,'row 34 of many'),
(35,'row 35 of many'),
(36,'row 36 of many'),
(37,'row 37 of many'),
(38,'row 38 of many'),
(39,'row 39 of many'),
(40,'row 40 of many'),
(41,'row 41 of many'),
(42,'row 42 of many'),
(43,'row 43 of many'),
(44,'row 44 of many'),
(45,'row 45 of many'),
(46,'row 46 of many'),
(47,'row 47 of many'),
(48,'row 48 of many'),
(49,'row 49 of many'),
(50,'row 50 of many'),
(51,'row 51 of many'),
(52,'row 52 of many'),
(53,'row 53 of many'),
(54,'row 54 of many'),
(55,'row 55 of many'),
(56,'row 56 of many'),
(57,'row 57 of many'),
(58,'row 58 of many'),
(59,'row 59 of many'),
(60,'row 60 of many'),
(61,'row 61 of many'),
(62,'row 62 of many'),
(63,'row 63 of many'),
(64,'row 64 of many'),
(65,'row 65 of many'),
(66,'row 66 of many'),
(67,'row 67 of many'),
(68,'row 68 of many'),
(69,'row 69 of many'),
(70,'row 70 of many'),
(71,'row 71 of many'),
(72,'row 72 of many'),
(73,'row 73 of many'),
(74,'row 74 of many'),
(75,'row 75 of many'),
(76,'row 76 of many'),
(77,'row 77 of many'),
(78,'row 78 of many'),
(79,'row 79 of many'),
(80,'row 80 of many'),
(81,'row 81 of many'),
(82,'row 82 of many'),
(83,'row 83 of many'),
(84,'row 84 of many'),
(85,'row 85 of many'),
(86,'row 86 of many'),
(87,'row 87 of many'),
(88,'row 88 of many'),
(89,'row 89 of many'),
(90,'row 90 of many'),
(91,'row 91 of many'),
(92,'row 92 of many'),
(93,'row 93 of many'),
(94,'row 94 of many'),
(95,'row 95 of many'),
(96,'row 96 of many'),
(97,'row 97 of many'),
(98,'row 98 of many'),
(99,'row 99 of many'),
(100,'row 100 of many'),
(101,'row 101 of many'),
(102,'row 102 of many'),
(103,'row 103 of many'),
(104,'row 104 of many'),
(105,'row 105 of many'),
(106,'row 106 of many'),
(107,'row 107 of many'),
(108,'row 108 of many'),
(109,'row 109 of many'),
(110,'row 110 of many'),
(111,'row 111 of many'),
(112,'row 112 of many'),
(113,'row 113 of many'),
(114,'row 114 of many'),
(115,'row 115 of many'),
(116,'row 116 of many'),
(117,'row 117 of many'),
(118,'row 118 of many'),
(119,'row 119 of many'),
(120,'row 120 of many'),
(121,'row 121 of many'),
(122,'row 122 of many'),
(123,'row 123 of many'),
(124,'row 124 of many'),
(125,'row 125 of many'),
(126,'row 126 of many'),
(127,'row 127 of many'),
(128,'row 128 of many'),
(129,'row 129 of many'),
(130,'row 130 of many'),
(131,'row 131 of many'),
(132,'row 132 of many'),
(133,'row 133 of many'),
(134,'row 134 of many'),
(135,'row 135 of many'),
(136,'row 136 of many'),
(137,'row 137 of many'),
(138,'row 138 of many'),
(139,'row 139 of many'),
(140,'row 140 of many'),
(141,'row 141 of many'),
(142,'row 142 of many'),
(143,'row 143 of many'),
(144,'row 144 of many'),
(145,'row 145 of many'),
(146,'row 146 of many'),
(147,'row 147 of many'),
(148,'row 148 of many'),
(149,'row 149 of many'),
(150,'row 150 of many'),
(151,'row 151 of many'),
(152,'row 152 of many'),
(153,'row 153 of many'),
(154,'row 154 of many'),
(155,'row 155 of many'),
(156,'row 156 of many'),
(157,'row 157 of many'),
(158,'row 158 of many'),
(159,'row 159 of many'),
(160,'row 160 of many'),
(161,'row 161 of many'),
(162,'row 162 of many'),
(163,'row 163 of many'),
(164,'row 164 of many'),
(165,'row 165 of many'),
(166,'row 166 of many'),
(167,'row 167 of many'),
(168,'row 168 of many'),
(169,'row 169 of many'),
(170,'row 170 of many'),
(171,'row 171 of many');
INSERT INTO `many` VALUES
(172,'row 172 of many'),
(173,'row 173 of many'),
(174,'row 174 of many'),
(175,'row 175 of many'),
(176,'row 176 of many'),
(177,'row 177 of many'),
(178,'row 178 of many'),
(179,'row 179 of many'),
(180,'row 180 of many'),
(181,'row 181 of many'),
(182,'row 182 of many'),
(183,'row 183 of many'),
(184,'row 184 of many'),
(185,'row 185 of many'),
(186,'row 186 of many'),
(187,'row 187 of many'),
(188,'row 188 of many'),
(189,'row 189 of many'),
(190,'row 190 of many'),
(191,'row 191 of many'),
(192,'row 192 of many'),
(193,'row 193 of many'),
(194,'row 194 of many'),
(195,'row 195 of many'),
(196,'row 196 of many'),
(197,'row 197 of many'),
(198,'row 198 of many'),
(199,'row 199 of many'),
(200,'row 200 of many'),
(201,'row 201 of many'),
(202,'row 202 of many'),
(203,'row 203 of many'),
(204,'row 204 of many'),
(205,'row 205 of many'),
(206,'row 206 of many'),
(207,'row 207 of many'),
(208,'row 208 of many'),
(209,'row 209 of many'),
(210,'row 210 of many'),
(211,'row 211 of many'),
(212,'row 212 of many'),
(213,'row 213 of many'),
(214,'row 214 of many'),
(215,'row 215 of many'),
(216,'row 216 of many'),
(217,'row 217 of many'),
(218,'row 218 of many'),
(219,'row 219 of many'),
(220,'row 220 of many'),
(221,'row 221 of many'),
(222,'row 222 of many'),
(223,'row 223 of many'),
(224,'row 224 of many'),
(225,'row 225 of many'),
(226,'row 226 of many'),
(227,'row 227 of many'),
(228,'row 228 of many'),
(229,'row 229 of many'),
(230,'row 230 of many'),
(231,'row 231 of many'),
(232,'row 232 of many'),
(233,'row 233 of many'),
(234,'row 234 of many'),
(235,'row 235 of many'),
(236,'row 236 of many'),
(237,'row 237 of many'),
(238,'row 238 of many'),
(239,'row 239 of many'),
(240,'row 240 of many'),
(241,'row 241 of many'),
(242,'row 242 of many'),
(243,'row 243 of many'),
(244,'row 244 of many'),
(245,'row 245 of many'),
(246,'row 246 of many'),
(247,'row 247 of many'),
(248,'row 248 of many'),
(249,'row 249 of many'),
(250,'row 250 of many'),
(251,'row 251 of many'),
(252,'row 252 of many'),
(253,'row 253 of many'),
(254,'row 254 of many'),
(255,'row 255 of many'),
(256,'row 256 of many'),
(257,'row 257 of many'),
(258,'row 258 of many'),
(259,'row 259 of many'),
(260,'row 260 of many'),
(261,'row 261 of many'),
(262,'row 262 of many'),
(263,'row 263 of many'),
(264,'row 264 of many'),
(265,'row 265 of many'),
(266,'row 266 of many'),
(267,'row 267 of many'),
(268,'row 268 of many'),
(269,'row 269 of many'),
(270,'row 270 of many'),
(271,'row 271 of many'),
(272,'row 272 of many'),
(273,'row 273 of many'),
(274,'row 274 of many'),
(275,'row 275 of many'),
(276,'row 276 of many'),
(277,'row 277 of many'),
(278,'row 278 of many'),
(279,'row 279 of many'),
(280,'row 280 of many'),
(281,'row 281 of many'),
(282,'row 282 of many'),
(283,'row 283 of many'),
(284,'row 284 of many'),
(285,'row 285 of many'),
(286,'row 286 of many'),
(287,'row 287 of many'),
(288,'row 288 of many'),
(289,'row 289 of many'),
(290,'row 290 of many'),
(291,'row 291 of many'),
(292,'row 292 of many'),
(293,'row 293 of many'),
(294,'row 294 of many'),
(295,'row 295 of many'),
(296,'row 296 of many'),
(297,'row 297 of many'),
(298,'row 298 of many'),
(299,'row 299 of many'),
(300,'row 300 of many');
/*!40000 ALTER TABLE `many` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `odd name`
--

DROP TABLE IF EXISTS `odd name`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `odd name` (
  `x` int(11) NOT NULL,
  `note` varchar(20) DEFAULT NULL,
  PRIMARY KEY (`x`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `odd name`
--

LOCK TABLES `odd name` WRITE;
/*!40000 ALTER TABLE `odd name` DISABLE KEYS */;
INSERT INTO `odd name` VALUES
(1,'),('),
(2,NULL);
/*!40000 ALTER TABLE `odd name` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Table structure for table `we``ird`
--

DROP TABLE IF EXISTS `we``ird`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `we``ird` (
  `y` varchar(10) DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `we``ird`
--

LOCK TABLES `we``ird` WRITE;
/*!40000 ALTER TABLE `we``ird` DISABLE KEYS */;
INSERT INTO `we``ird` VALUES
('tick');
/*!40000 ALTER TABLE `we``ird` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Dumping events for database 'appdb'
--

--
-- Dumping routines for database 'appdb'
--

--
-- Current Database: `other`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `other` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */;

USE `other`;

--
-- Table structure for table `notes`
--

DROP TABLE IF EXISTS `notes`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `notes` (
  `n` int(11) DEFAULT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `notes`
--

LOCK TABLES `notes` WRITE;
/*!40000 ALTER TABLE `notes` DISABLE KEYS */;
INSERT INTO `notes` VALUES
(1),
(2);
/*!40000 ALTER TABLE `notes` ENABLE KEYS */;
UNLOCK TABLES;

--
-- Dumping events for database 'other'
--

--
-- Dumping routines for database 'other'
--

--
-- Current Database: `appdb`
--

USE `appdb`;

--
-- Final view structure for view `items_named`
--

/*!50001 DROP VIEW IF EXISTS `items_named`*/;
/*!50001 SET @saved_cs_client          = @@character_set_client */;
/*!50001 SET @saved_cs_results         = @@character_set_results */;
/*!50001 SET @saved_col_connection     = @@collation_connection */;
/*!50001 SET character_set_client      = utf8mb3 */;
/*!50001 SET character_set_results     = utf8mb3 */;
/*!50001 SET collation_connection      = utf8mb3_general_ci */;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `items_named` AS select `items`.`id` AS `id`,`items`.`name` AS `name` from `items` */;
/*!50001 SET character_set_client      = @saved_cs_client */;
/*!50001 SET character_set_results     = @saved_cs_results */;
/*!50001 SET collation_connection      = @saved_col_connection */;

--
-- Current Database: `other`
--

USE `other`;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed
